# The PyTorch reference beside `draco bench step --model mlp|lenet --batch 32` (README
# "Performance"): one gradient of the same networks (forward, backward, the gradients flattened
# into one vector) at batch 32, one thread, median of 300 after 200 warm-up, three times.
import time, torch, torch.nn as nn, torch.nn.functional as F
torch.set_num_threads(1); torch.manual_seed(0)
mlp = nn.Sequential(nn.Flatten(), nn.Linear(784, 100), nn.ReLU(), nn.Linear(100, 10))
lenet = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
                      nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
for name, m in (('mlp', mlp), ('lenet', lenet)):
    x = torch.randn(32, 1, 28, 28); y = torch.randint(0, 10, (32,))
    params = list(m.parameters())
    def step():
        m.zero_grad(set_to_none=True)
        F.cross_entropy(m(x), y, reduction='sum').backward()
        return torch.cat([p.grad.reshape(-1) for p in params]).numpy()
    n = sum(p.numel() for p in params)
    for _ in range(200): step()
    for rep in range(3):
        ts = []
        for _ in range(300):
            t = time.perf_counter(); step(); ts.append(time.perf_counter() - t)
        ts.sort()
        print(f"pytorch {torch.__version__} {name} ({n} params) batch 32, 1 thread: median {1000*ts[len(ts)//2]:.3f} ms")
