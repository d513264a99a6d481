"""Tiny Llama causal LMs trained the way the ecosystem trains them: transformers + AdamW, PEFT LoRA.

    train_tokenizer(docs, vocab)        byte-level BPE (tokenizers), wrapped for transformers
    token_stream(tok, docs)             one long id stream, documents separated by <|endoftext|>
    new_model(arch, seed)               LlamaForCausalLM from LlamaConfig, initialised from a seed
    model_from_state(arch, state)       a model holding given weights (float32)
    train(model, stream, ...)           AdamW with warm-up + cosine, random windows, optional teacher
    lora(model, ...)                    a PEFT LoRA wrapper (get_peft_model)

Weights travel between steps as {name: float32 torch tensor} holding exactly the values a file
stores (a BF16 file's values widened to float32), so a child always starts from what its parent's
file holds, as it would after `from_pretrained`.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

EOS = "<|endoftext|>"


def train_tokenizer(docs: list[str], vocab_size: int) -> PreTrainedTokenizerFast:
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[EOS], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    # Fixed 4 KiB pieces: the trainer's input (and so its merges) do not depend on document order
    text = "\n\n".join(docs)
    tok.train_from_iterator([text[i:i + 4096] for i in range(0, len(text), 4096)], trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=EOS, eos_token=EOS)


def token_stream(tok: PreTrainedTokenizerFast, docs: list[str]) -> torch.Tensor:
    eos = tok.convert_tokens_to_ids(EOS)
    ids: list[int] = []
    for d in docs:
        ids += tok(d, add_special_tokens=False)["input_ids"]
        ids.append(eos)
    return torch.tensor(ids, dtype=torch.long)


def llama_config(arch: dict) -> LlamaConfig:
    return LlamaConfig(vocab_size=arch["vocab"], hidden_size=arch["hidden"],
                       intermediate_size=arch["inter"], num_hidden_layers=arch["layers"],
                       num_attention_heads=arch["heads"], num_key_value_heads=arch["kv_heads"],
                       max_position_embeddings=arch["ctx"], rms_norm_eps=1e-5, rope_theta=10000.0,
                       tie_word_embeddings=False, bos_token_id=0, eos_token_id=0)


def new_model(arch: dict, seed: int) -> LlamaForCausalLM:
    torch.manual_seed(seed)
    return LlamaForCausalLM(llama_config(arch)).float()


def model_from_state(arch: dict, state: dict) -> LlamaForCausalLM:
    m = LlamaForCausalLM(llama_config(arch)).float()
    missing, unexpected = m.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise ValueError(f"state does not fit the architecture: missing {missing}, unexpected {unexpected}")
    return m


def state_of(model) -> dict:
    return {k: v.detach().clone().float() for k, v in model.state_dict().items()}


def as_stored(state: dict, dtype: str) -> dict:
    """The values a file of this dtype holds (F32 as is, BF16/F16 rounded to nearest even)."""
    if dtype == "F32":
        return {k: v.clone() for k, v in state.items()}
    t = {"BF16": torch.bfloat16, "F16": torch.float16}[dtype]
    return {k: v.to(t).float() for k, v in state.items()}


def lr_at(step: int, steps: int, peak: float, warmup: int) -> float:
    if step < warmup:
        return peak * (step + 1) / warmup
    t = (step - warmup) / max(1, steps - warmup)
    return peak * 0.5 * (1 + math.cos(math.pi * t))


def split_stream(stream: torch.Tensor, eval_frac: float = 0.05):
    """(train, held-out) by position: the last 5 % of the stream is never trained on."""
    n_eval = max(256, int(len(stream) * eval_frac))
    return stream[:-n_eval], stream[-n_eval:]


def _batch(stream: torch.Tensor, batch: int, seq: int, g: torch.Generator) -> torch.Tensor:
    starts = torch.randint(0, len(stream) - seq - 1, (batch,), generator=g)
    return torch.stack([stream[s:s + seq + 1] for s in starts.tolist()])


@torch.no_grad()
def eval_loss(model, stream: torch.Tensor, seq: int, n: int = 16) -> float:
    """Mean next-token loss over n fixed windows spread evenly over a held-out stream."""
    model.eval()
    step = max(1, (len(stream) - seq - 1) // n)
    xs = torch.stack([stream[i:i + seq + 1] for i in range(0, step * n, step)][:n])
    out = model(input_ids=xs[:, :-1], labels=xs[:, :-1])
    model.train()
    return float(out.loss)


def train(model, stream: torch.Tensor, *, steps: int, lr: float, warmup: int, wd: float, seed: int,
          batch: int, seq: int, teacher=None, kd_weight: float = 0.0, kd_temp: float = 2.0,
          log_every: int = 250) -> dict:
    """AdamW (betas 0.9/0.95, weight decay on matrices only), linear warm-up then cosine to 0.

    With a teacher the loss is (1-kd_weight)*CE + kd_weight*T^2*KL(teacher_T || student_T), the
    DistilBERT objective without its cosine term."""
    train_ids, held_out = split_stream(stream)
    g = torch.Generator().manual_seed(seed)
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": wd},
                             {"params": no_decay, "weight_decay": 0.0}], lr=lr, betas=(0.9, 0.95))
    if teacher is not None:
        teacher.eval()
    model.train()
    curve = []
    loss_val = float("nan")
    for step in range(steps):
        for grp in opt.param_groups:
            grp["lr"] = lr_at(step, steps, lr, warmup)
        xb = _batch(train_ids, batch, seq, g)
        out = model(input_ids=xb[:, :-1], labels=xb[:, :-1])
        loss = out.loss
        if teacher is not None:
            with torch.no_grad():
                t_logits = teacher(input_ids=xb[:, :-1]).logits
            kl = F.kl_div(F.log_softmax(out.logits / kd_temp, -1), F.log_softmax(t_logits / kd_temp, -1),
                          log_target=True, reduction="batchmean") * kd_temp ** 2 / xb.shape[1]
            loss = (1 - kd_weight) * loss + kd_weight * kl
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        loss_val = loss.item()
        if (step + 1) % log_every == 0 or step + 1 == steps:
            curve.append([step + 1, round(loss_val, 4)])
    return {"final_train_loss": round(loss_val, 4), "curve": curve,
            "held_out_loss": round(eval_loss(model, held_out, seq), 4)}


def lora(model, *, r: int, alpha: int, targets: list[str], seed: int, modules_to_save=None,
         name_or_path: str | None = None):
    """A PEFT LoRA model (A Kaiming-uniform, B = 0, no dropout) over `model`, frozen elsewhere.

    `name_or_path` is what PEFT writes as adapter_config.json's base_model_name_or_path and as the
    model card's `base_model:`; it is whatever name the base was loaded under."""
    from peft import LoraConfig, get_peft_model
    if name_or_path is not None:
        model.name_or_path = name_or_path
        model.config._name_or_path = name_or_path
    torch.manual_seed(seed)
    cfg = LoraConfig(r=r, lora_alpha=alpha, target_modules=targets, lora_dropout=0.0, bias="none",
                     modules_to_save=modules_to_save)
    return get_peft_model(model, cfg)
