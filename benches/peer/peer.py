"""Peer runtimes for `cargo bench --bench peer`: one worker process per runtime.

    python peer.py prepare MODEL_DIR WORK_DIR      # tokenizer files, ONNX f32 + int8 exports
    python peer.py worker RUNTIME WORK_DIR TEXTS   # serve the line protocol below
    python peer.py sgemm                           # sgemm GFLOP/s through numpy's BLAS

Runtimes: torch-f32, torch-bf16 (PyTorch + sentence-transformers), ort-f32, ort-int8
(ONNX Runtime; int8 = dynamic quantisation, per channel, MatMul only).

Protocol (one JSON object per line on stdout, one command per line on stdin):
  start  -> {"ready": true, "load_s": s}
  run    -> {"secs": s}            embed every text (batch 16, sorted by length)
  query  -> {"p50_ms": ms}         one short query, 30 times
  save P -> {"saved": P}           the last run's unit vectors, float32 little-endian
  quit   -> {"peak_rss_mib": m}
"""
import json
import os
import sys
import time

THREADS = int(os.environ.get("XREF_PEER_THREADS", os.cpu_count() or 1))
BATCH = 16
QUERY = "query: 金融监管要加强"


def peak_rss_mib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def tokenizer(work):
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast.from_pretrained(os.path.join(work, "model"))


def prepare(model_dir, work):
    """A Hugging Face model folder (shared weights, full tokenizer files) and ONNX exports."""
    import torch
    from transformers import AutoModel, PreTrainedTokenizerFast

    out = os.path.join(work, "model")
    os.makedirs(out, exist_ok=True)
    for name in ["config.json", "model.safetensors"]:
        dst = os.path.join(out, name)
        if not os.path.exists(dst):
            os.symlink(os.path.abspath(os.path.join(model_dir, name)), dst)
    tok = PreTrainedTokenizerFast(
        tokenizer_file=os.path.join(model_dir, "tokenizer.json"),
        bos_token="<s>", eos_token="</s>", unk_token="<unk>", sep_token="</s>",
        cls_token="<s>", pad_token="<pad>", mask_token="<mask>", model_max_length=512,
    )
    tok.save_pretrained(out)
    f32 = os.path.join(work, "model-f32.onnx")
    if not os.path.exists(f32):
        bert = AutoModel.from_pretrained(out).eval()

        class Hidden(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.bert = bert

            def forward(self, input_ids, attention_mask):
                return self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

        model = Hidden().eval()
        enc = tok(["passage: 一个例子", "passage: an example that is longer"], padding=True, return_tensors="pt")
        with torch.no_grad():
            torch.onnx.export(
                model, (enc["input_ids"], enc["attention_mask"]), f32,
                input_names=["input_ids", "attention_mask"], output_names=["last_hidden_state"],
                dynamic_axes={"input_ids": {0: "b", 1: "t"}, "attention_mask": {0: "b", 1: "t"},
                              "last_hidden_state": {0: "b", 1: "t"}},
                opset_version=17, dynamo=False,
            )
    int8 = os.path.join(work, "model-int8.onnx")
    if not os.path.exists(int8):
        from onnxruntime.quantization import QuantType, quantize_dynamic

        quantize_dynamic(f32, int8, per_channel=True, op_types_to_quantize=["MatMul"], weight_type=QuantType.QInt8)
    print(json.dumps({"prepared": work}), flush=True)


class Torch:
    def __init__(self, work, bf16):
        import torch
        from sentence_transformers import SentenceTransformer, models

        torch.set_num_threads(THREADS)
        self.torch = torch
        t = models.Transformer(os.path.join(work, "model"), max_seq_length=512)
        pool = models.Pooling(t.get_word_embedding_dimension(), pooling_mode="mean")
        self.model = SentenceTransformer(modules=[t, pool, models.Normalize()], device="cpu")
        if bf16:
            self.model = self.model.to(torch.bfloat16)

    def embed(self, texts):
        with self.torch.inference_mode():
            v = self.model.encode(texts, batch_size=BATCH, convert_to_tensor=True)
        return v.float().numpy()


class Ort:
    def __init__(self, work, kind):
        import numpy as np
        import onnxruntime as ort

        self.np = np
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = THREADS
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        path = os.path.join(work, f"model-{kind}.onnx")
        self.session = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
        self.tok = tokenizer(work)

    def embed(self, texts):
        np = self.np
        ids = [self.tok(t, truncation=True, max_length=512)["input_ids"] for t in texts]
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        out = np.zeros((len(ids), 384), dtype=np.float32)
        for b in range(0, len(order), BATCH):
            rows = order[b:b + BATCH]
            width = max(len(ids[i]) for i in rows)
            x = np.full((len(rows), width), self.tok.pad_token_id, dtype=np.int64)
            m = np.zeros((len(rows), width), dtype=np.int64)
            for r, i in enumerate(rows):
                x[r, : len(ids[i])] = ids[i]
                m[r, : len(ids[i])] = 1
            h = self.session.run(None, {"input_ids": x, "attention_mask": m})[0]
            pooled = (h * m[:, :, None]).sum(1) / m.sum(1, keepdims=True)
            out[rows] = pooled / np.linalg.norm(pooled, axis=1, keepdims=True)
        return out


def worker(runtime, work, texts_path):
    with open(texts_path) as f:
        texts = json.load(f)
    t = time.perf_counter()
    if runtime == "torch-f32":
        rt = Torch(work, bf16=False)
    elif runtime == "torch-bf16":
        rt = Torch(work, bf16=True)
    elif runtime in ("ort-f32", "ort-int8"):
        rt = Ort(work, runtime[4:])
    else:
        raise SystemExit(f"unknown runtime {runtime}")
    rt.embed(texts[:8])  # warm-up
    print(json.dumps({"ready": True, "load_s": time.perf_counter() - t}), flush=True)
    last = None
    for line in sys.stdin:
        cmd = line.strip().split(" ", 1)
        if cmd[0] == "run":
            t = time.perf_counter()
            last = rt.embed(texts)
            print(json.dumps({"secs": time.perf_counter() - t}), flush=True)
        elif cmd[0] == "query":
            lat = []
            for _ in range(30):
                t = time.perf_counter()
                rt.embed([QUERY])
                lat.append((time.perf_counter() - t) * 1000)
            lat.sort()
            print(json.dumps({"p50_ms": lat[len(lat) // 2]}), flush=True)
        elif cmd[0] == "save":
            last.astype("<f4").tofile(cmd[1])
            print(json.dumps({"saved": cmd[1]}), flush=True)
        elif cmd[0] == "quit":
            print(json.dumps({"peak_rss_mib": peak_rss_mib()}), flush=True)
            return


def sgemm():
    import numpy as np

    n = 2048
    a = np.random.rand(n, n).astype(np.float32)
    b = np.random.rand(n, n).astype(np.float32)
    a @ b
    best = 0.0
    for _ in range(5):
        t = time.perf_counter()
        a @ b
        best = max(best, 2 * n**3 / (time.perf_counter() - t) / 1e9)
    print(json.dumps({"gflops": best}), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "prepare":
        prepare(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "worker":
        worker(sys.argv[2], sys.argv[3], sys.argv[4])
    elif sys.argv[1] == "sgemm":
        sgemm()
