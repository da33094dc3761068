"""What the benchmark modes share: the configs' FAMTHook."""


def famt_hook_cfg(cfg):
    """The config's FAMTHook entry."""
    hooks = [h for h in cfg.get('custom_hooks', []) if h['type'] == 'FAMTHook']
    if not hooks:
        raise SystemExit('this benchmark needs FAMT pretraining configs '
                         '(with a FAMTHook)')
    return hooks[0]
