# The PyTorch reference beside `draco bench aggregate --rules distances,...` (README "Distances
# beside torch.cdist"): median of 5 of torch.cdist(x, x) on n x d float32 and float64 inputs, one
# thread. Run with Debian's python3-torch (`/usr/bin/python3`); Debian's torch uses the system
# BLAS, so install libopenblas0-pthread for an optimised one (the README quotes both).
import time
import torch

torch.set_num_threads(1)
for n, d in [(15, 1_000_000), (63, 100_000), (255, 100_000)]:
    x = torch.randn(n, d, dtype=torch.float32)
    for dtype in (torch.float32, torch.float64):
        xx = x.to(dtype)
        ts = []
        for _ in range(5):
            t = time.perf_counter()
            torch.cdist(xx, xx)
            ts.append(time.perf_counter() - t)
        ts.sort()
        print(f"torch.cdist n={n} d={d} {str(dtype).split('.')[-1]}: median {1000 * ts[2]:.2f} ms")
