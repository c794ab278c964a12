"""Hand-written float32 numpy training steps, one module per case of ``benchmarks/train_step.py``.

Each module defines ``Step(state, x, y)`` with ``step() -> float`` (forward, loss, manual backward and the
optimizer update; returns the loss) and ``state() -> dict`` (the parameters, named as the PyTorch model's
``state_dict``). ``tests/benchmarks/test_numpy_steps_agree.py`` checks that three steps of each give the
losses and parameters PyTorch gives.
"""
