"""The third-party libraries' warnings and logs turned down to errors (the commands print their own lines)."""


def quiet():
    import logging
    import warnings

    warnings.filterwarnings("ignore")
    for name in ("torch.onnx", "onnxscript", "root", "transformers", "diffusers"):
        logging.getLogger(name).setLevel(logging.ERROR)
    logging.getLogger().setLevel(logging.ERROR)
    try:
        import transformers

        transformers.logging.set_verbosity_error()
    except Exception:
        pass
