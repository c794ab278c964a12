"""stft / istft: the short-time Fourier transform and its inverse (overlap-add with the window-envelope
normalisation), composed of differentiable ops (pad, unfold, fft, index_add), so gradients flow through."""
from __future__ import annotations

from disttorch._tensor import Tensor
from disttorch._warn import warn_user

from ._register import methods

__all__ = ["stft", "istft"]

_warned = [False, False]  # PyTorch gives each of stft's two warnings once per process


def _window_for(window: Tensor | None, win_length: int, n_fft: int, like: Tensor, what: str) -> Tensor:
    """The window padded (centred) to ``n_fft``; ones of ``win_length`` when none is given."""
    from .creation import ones

    if window is None:
        window = ones(win_length, dtype=like.real.dtype if like.is_complex() else like.dtype, device=like.device)
    if window.ndim != 1 or window.shape[0] != win_length:
        raise RuntimeError(f"{what}: expected a 1D window tensor of size equal to win_length={win_length}, but got "
                           f"window with size {list(window.shape)}")
    if win_length < n_fft:
        from disttorch.nn.functional import pad

        left = (n_fft - win_length) // 2
        window = pad(window, (left, n_fft - win_length - left))
    return window


def stft(input: Tensor, n_fft: int, hop_length: int | None = None, win_length: int | None = None,
         window: Tensor | None = None, center: bool = True, pad_mode: str = "reflect", normalized: bool = False,
         onesided: bool | None = None, return_complex: bool | None = None, align_to_window: bool | None = None,
         ) -> Tensor:
    """(freq, frames) complex spectra of the 1-D (or batch of 1-D) signal ``input``."""
    from disttorch import fft
    from disttorch.nn.functional import pad

    if return_complex is None:
        if not (input.is_complex() or (window is not None and window.is_complex())):
            raise RuntimeError("stft requires the return_complex parameter be given for real inputs, and will further "
                               "require that return_complex=True in a future PyTorch release.")
        return_complex = True
    if input.ndim not in (1, 2):
        raise RuntimeError(f"stft: expected a 1D or 2D tensor, but got {input.ndim}D tensor")
    hop = n_fft // 4 if hop_length is None else hop_length
    win = n_fft if win_length is None else win_length
    if hop <= 0:
        raise RuntimeError(f"stft: expected hop_length > 0, but got hop_length={hop}")
    if not 0 < win <= n_fft:
        raise RuntimeError(f"stft: expected 0 < win_length <= n_fft, but got win_length={win}")
    if window is None and not _warned[0]:
        _warned[0] = True
        warn_user("A window was not provided. A rectangular window will be applied,which is known to cause spectral "
                  "leakage. Other windows such as torch.hann_window or torch.hamming_window are recommended to "
                  "reduce spectral leakage.To suppress this warning and use a rectangular window, explicitly set "
                  "`window=torch.ones(n_fft, device=<device>)`.")
    if not return_complex and not _warned[1]:
        _warned[1] = True
        warn_user("stft with return_complex=False is deprecated. In a future pytorch release, stft will return "
                  "complex tensors for all inputs, and return_complex=False will raise an error.\nNote: you can "
                  "still call torch.view_as_real on the complex output to recover the old return format.")
    signal = input if input.ndim == 2 else input.unsqueeze(0)
    if center:
        half = n_fft // 2
        signal = pad(signal.unsqueeze(1), (half, half), mode=pad_mode).squeeze(1)
    length = signal.shape[-1]
    if not 0 < n_fft <= length:
        raise RuntimeError(f"stft: expected 0 < n_fft <= {length}, but got n_fft={n_fft}")
    w = _window_for(window, win, n_fft, input, "stft")
    frames = signal.unfold(-1, n_fft, hop) * w  # (B, frames, n_fft)
    one_sided = (not (input.is_complex() or w.is_complex())) if onesided is None else onesided
    spec = fft.rfft(frames, dim=-1) if one_sided else fft.fft(frames, dim=-1)
    if normalized:
        spec = spec * (n_fft ** -0.5)
    spec = spec.transpose(-1, -2)  # (B, freq, frames)
    if input.ndim == 1:
        spec = spec.squeeze(0)
    return spec if return_complex else _as_real(spec)


def _as_real(spec: Tensor) -> Tensor:
    from .views_extra import view_as_real

    return view_as_real(spec.contiguous())


def istft(input: Tensor, n_fft: int, hop_length: int | None = None, win_length: int | None = None,
          window: Tensor | None = None, center: bool = True, normalized: bool = False, onesided: bool | None = None,
          length: int | None = None, return_complex: bool = False) -> Tensor:
    """The signal whose ``stft`` (same arguments) is ``input``: inverse FFTs of the frames, windowed, overlapped
    and added, divided by the summed squared window."""
    from disttorch import fft

    from .creation import zeros
    from .index import index_add

    if not input.is_complex():
        raise RuntimeError("istft requires a complex-valued input tensor matching the output from stft with "
                           "return_complex=True.")
    if input.ndim not in (2, 3):
        raise RuntimeError(f"istft: expected a tensor with 2 or 3 dimensions of complex, but got {input.ndim}D")
    hop = n_fft // 4 if hop_length is None else hop_length
    win = n_fft if win_length is None else win_length
    spec = input if input.ndim == 3 else input.unsqueeze(0)  # (B, freq, frames)
    one_sided = (spec.shape[-2] != n_fft) if onesided is None else onesided
    expected = n_fft // 2 + 1 if one_sided else n_fft
    if spec.shape[-2] != expected:
        raise RuntimeError(f"istft: expected the frequency dimension (3rd to the last) of the input tensor to match "
                           f"n_fft / 2 + 1 when onesided=True, but got {spec.shape[-2]}")
    w = _window_for(window, win, n_fft, input, "istft")
    spec = spec.transpose(-1, -2)  # (B, frames, freq)
    if normalized:
        spec = spec * (n_fft ** 0.5)
    if one_sided:
        if return_complex:
            raise RuntimeError("cannot have onesided output if window or input is complex")
        frames = fft.irfft(spec, n=n_fft, dim=-1)
    else:
        frames = fft.ifft(spec, n=n_fft, dim=-1)
        if not return_complex:
            frames = frames.real
    frames = frames * w
    batch, count = frames.shape[0], frames.shape[1]
    total = n_fft + hop * (count - 1)
    from .creation import arange

    positions = (arange(count, device=input.device)[:, None] * hop + arange(n_fft, device=input.device)).reshape(-1)
    signal = index_add(zeros(batch, total, dtype=frames.dtype, device=input.device), 1, positions,
                       frames.reshape(batch, -1))
    envelope = index_add(zeros(total, dtype=w.real.dtype if w.is_complex() else w.dtype, device=input.device), 0,
                         positions, (w * w.conj()).real.repeat(count) if w.is_complex() else (w * w).repeat(count))
    start = n_fft // 2 if center else 0
    end = total - (n_fft // 2 if center else 0) if length is None else min(start + length, total)
    signal, envelope = signal[:, start:end], envelope[start:end]
    if bool((envelope.abs() < 1e-11).any()):
        raise RuntimeError("istft: window overlap add min: 1e-11 should be greater than 1e-11 (the window does not "
                           "satisfy the NOLA condition)")
    signal = signal / envelope
    if length is not None and signal.shape[-1] < length:
        from disttorch.nn.functional import pad

        signal = pad(signal, (0, length - signal.shape[-1]))
    return signal if input.ndim == 3 else signal.squeeze(0)


methods({"stft": stft, "istft": istft})
