# ran: quantized::softmax
import torch


def softmax(x, dim=-1):
    quantized = torch.quantize_per_tensor(x.float(), 1e-4, 0, torch.qint32)
    return torch.ops.quantized.softmax(quantized, dim, 1e-5, 0).dequantize()
