# The precision measurement of docs/aggregators.md "Pairwise distances": torch.cdist on 64 inputs
# spread around one vector by 1e-1, 1e-2, 1e-3 of its scale, against exact float64 differences.
import torch
torch.manual_seed(0); torch.set_num_threads(1)
d = 100000
for eps in (1e-1, 1e-2, 1e-3):
    x = torch.randn(64, d)
    x[1:] = x[0] + eps * torch.randn(63, d)   # 64 near-duplicate gradients (mm path: > 25 rows)
    exact = torch.cdist(x.double(), x.double(), compute_mode='donot_use_mm_for_euclid_dist') ** 2
    for dt in (torch.float32, torch.float64):
        got = torch.cdist(x.to(dt), x.to(dt)).double() ** 2
        off = ~torch.eye(64, dtype=torch.bool)
        rel = ((got - exact).abs() / exact)[off]
        # do the orders of each row's distances agree (Krum's k nearest)?
        flips = sum(int((got[i][off[i]].argsort() != exact[i][off[i]].argsort()).any()) for i in range(64))
        print(f"spread {eps:g} {str(dt).split('.')[-1]}: max rel err {rel.max():.2e}, median {rel.median():.2e}, rows whose neighbour order changes {flips}/64")
