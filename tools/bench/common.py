"""What the benchmark modes share: configs and their FAMTHook."""
from mmengine.config import Config


def load_cfg(path, args):
    if '::' in path:  # a config of an installed package, e.g. mmpretrain::
        from mmengine.hub import get_config
        cfg = get_config(path)
    else:
        cfg = Config.fromfile(path)
    cfg.merge_from_dict(args.cfg_options)
    return cfg


def famt_hook_cfg(cfg):
    """The config's FAMTHook entry."""
    hooks = [h for h in cfg.get('custom_hooks', []) if h['type'] == 'FAMTHook']
    if not hooks:
        raise SystemExit('this benchmark needs FAMT pretraining configs '
                         '(with a FAMTHook)')
    return hooks[0]
