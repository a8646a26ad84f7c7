#!/usr/bin/env python3
"""Independent reference logits for tessera, computed with Hugging Face transformers.

Loads a gpt-oss checkpoint in the HF layout (MXFP4 or bf16 experts, either config.json
spelling) into `GptOssForCausalLM` in float32, runs greedy decoding with the KV cache for
every prompt, and writes the top-K raw logits of each generated step to a JSON fixture that
tessera's CPU forward pass is checked against.

Nothing here uses tessera code: the model math is transformers' own. The only tensor code of
this script is a check that every parameter transformers ended up with equals the
checkpoint (MXFP4 experts dequantized per the OCP MX rules), so that no parameter can be
silently left at its random initial value or converted differently than expected, plus an
optional fallback dequantizer (`--dequant script`) for machines where transformers' own
MXFP4 path cannot run.

Usage:
  python3 tools/hf_reference.py --model DIR --prompts prompts.json --out fixture.json \
      [--max-new-tokens 32] [--top 5] [--device cuda|cpu|cuda:N|auto] [--dtype float32]

prompts.json: {"prompts": [[token ids...], ...]}
"""

import argparse
import copy
import json
import os
import platform
import shutil
import sys
import tempfile
import time

# Everything runs from local files; no hub look-ups and no downloaded kernels, ever.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ["USE_HUB_KERNELS"] = "0"
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

import torch  # noqa: E402
import transformers  # noqa: E402
from safetensors import safe_open  # noqa: E402

# The expert activation transformers hard-codes for gpt-oss (GptOssExperts: alpha, limit).
TRANSFORMERS_SWIGLU_LIMIT = 7.0

# E2M1 code -> value (bit 3 sign, bits 2..1 exponent, bit 0 mantissa), OCP MX v1.0.
FP4_E2M1 = [0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, -0.0, -0.5, -1.0, -1.5, -2.0, -3.0, -4.0, -6.0]


def log(msg=""):
    print(msg, flush=True)


def die(msg):
    print(f"hf_reference: error: {msg}", file=sys.stderr, flush=True)
    sys.exit(1)


# --------------------------------------------------------------------------------------------
# Checkpoint access
# --------------------------------------------------------------------------------------------


def checkpoint_files(model_dir):
    """Returns {tensor name: safetensors file path} for a single-file or sharded checkpoint."""
    index_path = os.path.join(model_dir, "model.safetensors.index.json")
    single_path = os.path.join(model_dir, "model.safetensors")
    if os.path.exists(index_path):
        with open(index_path) as f:
            weight_map = json.load(f)["weight_map"]
        return {name: os.path.join(model_dir, file) for name, file in weight_map.items()}
    if os.path.exists(single_path):
        with safe_open(single_path, framework="pt", device="cpu") as f:
            return {name: single_path for name in f.keys()}
    die(f"{model_dir} has neither model.safetensors nor model.safetensors.index.json")


class CheckpointReader:
    """Reads single tensors from the checkpoint, keeping each file open once."""

    def __init__(self, model_dir):
        self.where = checkpoint_files(model_dir)
        self._open = {}

    def names(self):
        return sorted(self.where)

    def get(self, name):
        path = self.where[name]
        if path not in self._open:
            self._open[path] = safe_open(path, framework="pt", device="cpu")
        return self._open[path].get_tensor(name)


def dequantize_mxfp4(blocks, scales, device):
    """MXFP4 -> float32, in the layout of the checkpoint: [..., rows, cols].

    blocks: uint8 [..., rows, G, 16]; byte b of block g holds element 2b in its low nibble and
    element 2b+1 in its high nibble. scales: uint8 [..., rows, G], E8M0 with bias 127.
    Every block covers 32 consecutive columns (the input dimension of the weight).
    """
    blocks = blocks.to(device)
    scales = scales.to(device)
    if blocks.dtype != torch.uint8 or scales.dtype != torch.uint8:
        raise ValueError(f"MXFP4 tensors must be uint8, got {blocks.dtype} / {scales.dtype}")
    if tuple(blocks.shape[:-1]) != tuple(scales.shape) or blocks.shape[-1] != 16:
        raise ValueError(f"MXFP4 shapes do not match: blocks {tuple(blocks.shape)}, scales {tuple(scales.shape)}")
    table = torch.tensor(FP4_E2M1, dtype=torch.float32, device=device)
    low = table[(blocks & 0x0F).long()]
    high = table[(blocks >> 4).long()]
    values = torch.stack((low, high), dim=-1).reshape(*blocks.shape[:-1], 32)  # [..., rows, G, 32]
    exponent = scales.to(torch.int32) - 127
    values = torch.ldexp(values, exponent.unsqueeze(-1).to(torch.float32))
    return values.reshape(*blocks.shape[:-2], blocks.shape[-2] * 32)


# --------------------------------------------------------------------------------------------
# Configuration report
# --------------------------------------------------------------------------------------------


def describe_config(raw, config):
    """Prints how transformers read config.json and flags keys it ignores or defaults."""
    spelling = "rope_parameters" if "rope_parameters" in raw else (
        "published (rope_scaling + top-level rope_theta)" if "rope_scaling" in raw else "none (class defaults)")
    log(f"config.json spelling: {spelling}")
    rope = dict(raw.get("rope_parameters") or raw.get("rope_scaling") or {})
    log("transformers reads:")
    for key in ("num_hidden_layers", "hidden_size", "intermediate_size", "num_attention_heads",
                "num_key_value_heads", "head_dim", "num_local_experts", "num_experts_per_tok", "vocab_size",
                "sliding_window", "rms_norm_eps", "max_position_embeddings", "attention_bias",
                "tie_word_embeddings", "pad_token_id"):
        log(f"  {key} = {getattr(config, key, None)!r}")
    log(f"  layer_types = {config.layer_types}")
    log(f"  rope_parameters = {config.rope_parameters}")

    warnings = []
    limit = raw.get("swiglu_limit")
    if limit is not None and float(limit) != TRANSFORMERS_SWIGLU_LIMIT:
        warnings.append(f"swiglu_limit={limit} is ignored: transformers' gpt-oss experts always clamp at "
                        f"{TRANSFORMERS_SWIGLU_LIMIT}")
    if "experts_per_token" in raw and raw.get("experts_per_token") != config.num_experts_per_tok:
        warnings.append(f"experts_per_token={raw['experts_per_token']} is ignored: transformers routes to "
                        f"num_experts_per_tok={config.num_experts_per_tok}")
    if rope and "truncate" not in rope:
        warnings.append("the RoPE dict has no 'truncate': transformers then rounds the YaRN ramp bounds "
                        "(floor/ceil), as truncate=true")
    if rope and "original_max_position_embeddings" not in rope:
        warnings.append("the RoPE dict has no 'original_max_position_embeddings': transformers then uses "
                        f"max_position_embeddings={config.max_position_embeddings}")
    icl = raw.get("initial_context_length")
    if icl is not None and icl != config.rope_parameters.get("original_max_position_embeddings"):
        warnings.append(f"initial_context_length={icl} is ignored: transformers uses "
                        f"original_max_position_embeddings={config.rope_parameters.get('original_max_position_embeddings')}")
    if "layer_types" not in raw:
        warnings.append("no layer_types: transformers makes even layers sliding and odd layers full")
    for w in warnings:
        log(f"  NOTE: {w}")
    return warnings


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


def device_map_for(device):
    if device == "auto":
        return "auto"
    if device == "cpu":
        return None
    return {"": device}


def load_config(model_dir, raw):
    from transformers import GptOssConfig

    config = GptOssConfig.from_pretrained(model_dir, local_files_only=True)
    # nn.Embedding refuses a padding index outside the vocabulary; small test models keep the real
    # pad id (199999). The padding index never changes a forward pass, so it is dropped then.
    if config.pad_token_id is not None and config.pad_token_id >= config.vocab_size:
        log(f"pad_token_id {config.pad_token_id} >= vocab_size {config.vocab_size}: loading with pad_token_id=None")
        config.pad_token_id = None
    return config


def load_with_transformers(model_dir, config, dtype, device, is_mxfp4):
    from transformers import GptOssForCausalLM

    kwargs = dict(
        config=config,
        dtype=dtype,
        attn_implementation="eager",  # the eager path implements the sinks
        experts_implementation="eager",  # the per-expert loop in the model's own dtype
        local_files_only=True,
        output_loading_info=True,
        use_kernels=False,
    )
    dm = device_map_for(device)
    if dm is not None:
        kwargs["device_map"] = dm
    if is_mxfp4:
        from transformers import Mxfp4Config

        # Dequantize in transformers (no Triton kernels, no downloads).
        kwargs["quantization_config"] = Mxfp4Config(dequantize=True)
    return GptOssForCausalLM.from_pretrained(model_dir, **kwargs)


def write_dequantized_copy(model_dir, raw, out_dir):
    """Writes DIR's checkpoint with MXFP4 experts replaced by bf16 tensors in the layout transformers
    saves dequantized gpt-oss models in (gate_up_proj [E, hidden, 2I], down_proj [E, I, hidden])."""
    from safetensors.torch import save_file

    reader = CheckpointReader(model_dir)
    by_file = {}
    for name, path in reader.where.items():
        by_file.setdefault(os.path.basename(path), []).append(name)
    weight_map = {}
    for file, names in sorted(by_file.items()):
        tensors = {}
        for name in sorted(names):
            if name.endswith("_scales"):
                continue
            if name.endswith("_blocks"):
                base = name[: -len("_blocks")]
                blocks = reader.get(name)
                scales = reader.get(base + "_scales")
                experts = []
                for e in range(blocks.shape[0]):  # one expert at a time bounds the memory
                    experts.append(dequantize_mxfp4(blocks[e], scales[e], "cpu").to(torch.bfloat16).t().contiguous())
                tensors[base] = torch.stack(experts)
                weight_map[base] = file
            else:
                tensors[name] = reader.get(name)
                weight_map[name] = file
        save_file(tensors, os.path.join(out_dir, file), metadata={"format": "pt"})
    if len(by_file) > 1 or os.path.exists(os.path.join(model_dir, "model.safetensors.index.json")):
        with open(os.path.join(out_dir, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {}, "weight_map": weight_map}, f)
    cfg = dict(raw)
    cfg.pop("quantization_config", None)
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)


def check_loading_info(info):
    problems = []
    for key in ("missing_keys", "unexpected_keys", "mismatched_keys", "error_msgs"):
        value = info.get(key) or []
        if len(value) > 0:
            problems.append(f"{key}: {sorted(map(str, value))[:20]}")
    if problems:
        die("transformers did not load the checkpoint cleanly (some parameters would be random):\n  "
            + "\n  ".join(problems))


def upcast_parameters(model, dtype):
    """Brings every floating parameter/buffer to `dtype` (transformers leaves its dequantized MXFP4
    experts in bf16 even when the model is loaded in float32). The upcast of bf16 is exact."""
    changed = []
    if dtype != torch.float32:
        return changed  # only ever widen; a bf16 run keeps transformers' own mixed dtypes
    for name, p in model.named_parameters():
        if p.is_floating_point() and p.dtype != dtype:
            changed.append(f"{name} ({p.dtype})")
            p.data = p.data.to(dtype)
    for name, b in model.named_buffers():
        if b.is_floating_point() and b.dtype != dtype and not name.endswith("inv_freq"):
            changed.append(f"{name} ({b.dtype})")
            b.data = b.data.to(dtype)
    if changed:
        shown = ", ".join(changed[:4]) + (f", ... ({len(changed)} in all)" if len(changed) > 4 else "")
        log(f"upcast to {dtype} after loading: {shown}")
    return changed


def verify_weights(model, model_dir):
    """Every parameter of the model must equal the checkpoint tensor it came from (bf16 upcast, MXFP4
    dequantized and transposed to transformers' [E, in, out] layout); every parameter must be covered."""
    reader = CheckpointReader(model_dir)
    params = dict(model.named_parameters())
    covered = set()
    bad = []
    for name in reader.names():
        if name.endswith("_scales"):
            continue
        if name.endswith("_blocks"):
            target = name[: -len("_blocks")]
            if target not in params:
                bad.append(f"{name}: the model has no parameter {target}")
                continue
            p = params[target]
            blocks_all = reader.get(name)
            scales_all = reader.get(target + "_scales")
            if p.shape[0] != blocks_all.shape[0]:
                bad.append(f"{target}: {p.shape[0]} experts in the model, {blocks_all.shape[0]} in the checkpoint")
                continue
            worst = 0.0
            for e in range(blocks_all.shape[0]):
                ref = dequantize_mxfp4(blocks_all[e], scales_all[e], p.device).t()  # [in, out]
                got = p.data[e]
                if tuple(ref.shape) != tuple(got.shape):
                    bad.append(f"{target}[{e}]: shape {tuple(got.shape)} vs dequantized {tuple(ref.shape)}")
                    break
                diff = (got.to(torch.float32) - ref.to(got.device)).abs().max().item()
                worst = max(worst, diff)
            if worst != 0.0:
                bad.append(f"{target}: differs from the MXFP4 dequantization by up to {worst!r}")
            covered.add(target)
            continue
        if name not in params:
            bad.append(f"{name}: not a parameter of the model")
            continue
        p = params[name]
        ref = reader.get(name)
        if tuple(ref.shape) != tuple(p.shape):
            bad.append(f"{name}: shape {tuple(p.shape)} in the model, {tuple(ref.shape)} in the checkpoint")
            continue
        ref = ref.to(device=p.device, dtype=p.dtype)
        if not torch.equal(ref, p.data):
            diff = (ref.to(torch.float32) - p.data.to(torch.float32)).abs().max().item()
            bad.append(f"{name}: differs from the checkpoint by up to {diff!r}")
        covered.add(name)
    uncovered = sorted(set(params) - covered)
    if uncovered:
        bad.append(f"parameters not taken from the checkpoint: {uncovered[:20]}")
    if bad:
        die("weight check failed:\n  " + "\n  ".join(bad[:40]))
    log(f"weight check: all {len(params)} parameters equal the checkpoint")


# --------------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------------


def input_device(model):
    return model.get_input_embeddings().weight.device


def topk_entries(logits, k):
    values, ids = torch.topk(logits, k)
    return [{"id": int(i), "logit": float(v)} for v, i in zip(values.tolist(), ids.tolist())]


@torch.inference_mode()
def greedy_with_cache(model, prompt, steps):
    """Greedy decoding token by token through transformers' KV cache. Returns the generated ids and
    the raw float32 logits that chose each of them ([steps, vocab])."""
    from transformers import DynamicCache

    dev = input_device(model)
    cache = DynamicCache(config=model.config)
    ids = torch.tensor([prompt], dtype=torch.long, device=dev)
    out = model(input_ids=ids, past_key_values=cache, use_cache=True, logits_to_keep=1)
    step_logits = []
    generated = []
    for step in range(steps):
        logits = out.logits[0, -1].to(torch.float32)
        step_logits.append(logits)
        token = int(torch.argmax(logits).item())  # first index among equal maxima
        generated.append(token)
        if step + 1 == steps:
            break
        ids = torch.tensor([[token]], dtype=torch.long, device=dev)
        out = model(input_ids=ids, past_key_values=cache, use_cache=True, logits_to_keep=1)
    return generated, torch.stack(step_logits)


@torch.inference_mode()
def full_forward(model, prompt, generated):
    """One pass without cache over prompt + generated[:-1]; its last len(generated) positions predict
    the same tokens as the cached steps."""
    seq = list(prompt) + list(generated[:-1])
    ids = torch.tensor([seq], dtype=torch.long, device=input_device(model))
    out = model(input_ids=ids, use_cache=False, logits_to_keep=len(generated))
    return out.logits[0].to(torch.float32)  # [steps, vocab]


@torch.inference_mode()
def generate_check(model, prompt, steps):
    """transformers' own generate(), with eos stopping disabled; returns (ids, logits [steps, vocab])."""
    gc = copy.deepcopy(model.generation_config)
    gc.do_sample = False
    gc.num_beams = 1
    gc.temperature = None
    gc.top_p = None
    gc.top_k = None
    gc.eos_token_id = None
    gc.max_new_tokens = steps
    gc.min_new_tokens = None
    gc.output_logits = True
    gc.return_dict_in_generate = True
    if gc.pad_token_id is None:
        gc.pad_token_id = 0
    saved = model.generation_config
    model.generation_config = gc  # generate() fills unset values from here
    try:
        ids = torch.tensor([prompt], dtype=torch.long, device=input_device(model))
        out = model.generate(ids, attention_mask=torch.ones_like(ids), generation_config=gc)
    finally:
        model.generation_config = saved
    new_ids = out.sequences[0, len(prompt):].tolist()
    logits = torch.stack([l[0].to(torch.float32) for l in out.logits])
    return new_ids, logits


def load_prompts(path, vocab_size):
    with open(path) as f:
        data = json.load(f)
    prompts = data["prompts"] if isinstance(data, dict) else data
    if not isinstance(prompts, list) or not prompts:
        die(f"{path}: expected {{\"prompts\": [[token ids...], ...]}} with at least one prompt")
    for i, p in enumerate(prompts):
        if not isinstance(p, list) or not p or not all(isinstance(t, int) and not isinstance(t, bool) for t in p):
            die(f"{path}: prompt {i} is not a non-empty list of integers")
        bad = [t for t in p if t < 0 or t >= vocab_size]
        if bad:
            die(f"{path}: prompt {i} has ids outside [0, {vocab_size}): {bad[:5]}")
    return prompts


def device_name(device):
    if device != "cpu" and torch.cuda.is_available():
        index = torch.device(device).index if device not in ("auto", "cuda") else 0
        return torch.cuda.get_device_name(index or 0)
    return f"cpu ({platform.processor() or platform.machine()})"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="checkpoint folder (config.json + safetensors)")
    ap.add_argument("--prompts", required=True, help='JSON file {"prompts": [[ids...], ...]}')
    ap.add_argument("--out", required=True, help="fixture JSON to write")
    ap.add_argument("--max-new-tokens", type=int, default=32)
    ap.add_argument("--top", type=int, default=5, help="logits recorded per step")
    ap.add_argument("--device", default=None,
                    help="cuda (default when a GPU is present), cuda:N, cpu, or auto (spread over all GPUs)")
    ap.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    ap.add_argument("--dequant", default="transformers", choices=["transformers", "script"],
                    help="who dequantizes MXFP4 experts: transformers (default; falls back to the script "
                         "with a note if transformers cannot) or this script")
    ap.add_argument("--skip-weight-check", action="store_true",
                    help="do not compare every loaded parameter with the checkpoint")
    ap.add_argument("--generate-check", action="store_true",
                    help="also run transformers' generate() and compare its tokens and logits")
    ap.add_argument("--tmp-dir", default=None, help="where --dequant script writes its bf16 copy")
    args = ap.parse_args()

    if args.max_new_tokens < 1:
        die("--max-new-tokens must be at least 1")
    if args.top < 1:
        die("--top must be at least 1")
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if device != "cpu" and not torch.cuda.is_available():
        die(f"--device {device} but torch sees no GPU")
    dtype = getattr(torch, args.dtype)

    torch.manual_seed(0)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")

    model_dir = os.path.abspath(args.model)
    with open(os.path.join(model_dir, "config.json")) as f:
        raw_config = json.load(f)
    if raw_config.get("model_type") != "gpt_oss":
        die(f"{model_dir}/config.json: model_type is {raw_config.get('model_type')!r}, expected 'gpt_oss'")
    quant = raw_config.get("quantization_config") or {}
    is_mxfp4 = quant.get("quant_method") == "mxfp4"
    if quant and not is_mxfp4:
        die(f"unsupported quantization_config {quant}")

    generator = f"transformers {transformers.__version__}, torch {torch.__version__}, {device_name(device)}"
    log(f"reference: {generator}")
    log(f"model: {model_dir} ({'MXFP4' if is_mxfp4 else 'bf16'} experts), dtype {args.dtype}, device {device}")

    config = load_config(model_dir, raw_config)
    config_notes = describe_config(raw_config, config)
    prompts = load_prompts(args.prompts, config.vocab_size)

    dequantized_by = "transformers" if is_mxfp4 else None
    tmp_dir = None
    t0 = time.time()
    try:
        if is_mxfp4 and args.dequant == "script":
            raise RuntimeError("--dequant script")
        model, info = load_with_transformers(model_dir, config, dtype, device, is_mxfp4)
        weights_dir = model_dir
    except Exception as exc:  # noqa: BLE001
        if not is_mxfp4:
            raise
        if args.dequant != "script":
            log(f"NOTE: transformers could not dequantize the MXFP4 experts ({type(exc).__name__}: {exc}).")
        log("NOTE: MXFP4 experts are dequantized by this script (OCP MX rules) into a bf16 copy of the "
            "checkpoint in transformers' layout; transformers then loads that copy.")
        tmp_dir = tempfile.mkdtemp(prefix="hf_reference_", dir=args.tmp_dir)
        write_dequantized_copy(model_dir, raw_config, tmp_dir)
        config = load_config(tmp_dir, raw_config)
        model, info = load_with_transformers(tmp_dir, config, dtype, device, False)
        weights_dir = model_dir
        dequantized_by = "script"
    try:
        check_loading_info(info)
        model.eval()
        upcast = upcast_parameters(model, dtype)
        if model.config._attn_implementation != "eager":
            die(f"attention implementation is {model.config._attn_implementation}, expected eager")
        log(f"loaded in {time.time() - t0:.1f}s; attention {model.config._attn_implementation}, "
            f"experts {model.config._experts_implementation}")
        rotary = model.model.rotary_emb
        log(f"rotary: type {rotary.rope_type}, attention_scaling {rotary.attention_scaling!r}")
        log(f"rotary inv_freq: {[float(x) for x in rotary.inv_freq.float().cpu()]}")
        if not args.skip_weight_check:
            verify_weights(model, weights_dir)
    finally:
        if tmp_dir is not None:
            shutil.rmtree(tmp_dir, ignore_errors=True)

    k = min(args.top, config.vocab_size)
    cases = []
    for n, prompt in enumerate(prompts):
        t1 = time.time()
        generated, step_logits = greedy_with_cache(model, prompt, args.max_new_tokens)
        full = full_forward(model, prompt, generated)
        diff_all = (full - step_logits).abs().max(dim=-1).values
        case = {
            "prompt_ids": list(prompt),
            "output_ids": generated,
            "top_logits": [topk_entries(step_logits[s], k) for s in range(len(generated))],
            "full_forward_check_max_abs_diff": float(diff_all[-1].item()),
            "full_forward_check_max_abs_diff_all_steps": float(diff_all.max().item()),
        }
        mismatched = [s for s in range(len(generated)) if int(torch.argmax(full[s]).item()) != generated[s]]
        if mismatched:
            log(f"  NOTE: the full forward pass picks other tokens at steps {mismatched[:10]}")
        if not torch.isfinite(step_logits).all():
            log("  WARNING: non-finite logits")
        line = (f"case {n}: {len(prompt)} prompt + {len(generated)} generated tokens in {time.time() - t1:.1f}s; "
                f"cache vs full forward: last {case['full_forward_check_max_abs_diff']:.3g}, "
                f"all steps {case['full_forward_check_max_abs_diff_all_steps']:.3g}")
        if args.generate_check:
            gen_ids, gen_logits = generate_check(model, prompt, args.max_new_tokens)
            steps = min(len(gen_ids), len(generated))
            gdiff = (gen_logits[:steps] - step_logits[:steps]).abs().max().item() if steps else float("nan")
            case["generate_check"] = {"same_ids": gen_ids == generated, "max_abs_diff": float(gdiff)}
            line += f"; generate(): same ids {gen_ids == generated}, max diff {gdiff:.3g}"
        log(line)
        log(f"  output_ids: {generated}")
        cases.append(case)

    fixture = {
        "generator": generator,
        "model_dir": os.path.basename(os.path.normpath(model_dir)),
        "config": raw_config,
        "settings": {
            "dtype": args.dtype,
            "device": device,
            "max_new_tokens": args.max_new_tokens,
            "top": k,
            "experts_dequantized_by": dequantized_by,
            "upcast_after_loading": len(upcast),
            "attn_implementation": "eager",
            "experts_implementation": "eager",
            "config_notes": config_notes,
        },
        "cases": cases,
    }
    out_path = os.path.abspath(args.out)
    tmp_out = out_path + ".tmp"
    with open(tmp_out, "w") as f:
        json.dump(fixture, f, indent=1)
        f.write("\n")
    os.replace(tmp_out, out_path)
    if device != "cpu":
        peak = max(torch.cuda.max_memory_allocated(i) for i in range(torch.cuda.device_count()))
        log(f"peak GPU memory (largest device): {peak / 2**30:.2f} GiB")
    log(f"wrote {out_path}")


if __name__ == "__main__":
    main()
