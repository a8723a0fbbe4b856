"""TorchScript archives (``torch.jit.save``): their program, read with ``ast``, never run."""
