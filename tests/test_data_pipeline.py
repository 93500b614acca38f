"""The training data pipeline (harness.data): every task's DataLoader yields, epoch after epoch, exactly the batches the
earlier list-of-batches code made from the same seeded generator (so studies resumed across the change train the
same), its length is the batches per epoch, and loader worker processes change nothing."""

from __future__ import annotations

import math

import pytest
import torch

from harness.data import train_loader
from harness.spec import parse_spec
from harness.study import load_data, resolve_data_dir
from harness.training import fit, seeded_model
from tests.test_device import TINY, config_of, tiny_spec


def reference_translation(data, batch_size, generator):
    """The batches of one epoch as the translation task made them before the DataLoader (pools sorted on the longer
    of source and target, then source, then target, as since the padding of targets counts too)."""
    from harness_tasks.translation.task import collate

    def length(i):
        s, t = len(data.train[i][0]), len(data.train[i][1]) + 1
        return max(s, t), s, t

    order = torch.randperm(len(data.train), generator=generator).tolist()
    pool = batch_size * 50
    batches = []
    for start in range(0, len(order), pool):
        chunk = sorted(order[start : start + pool], key=length)
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    return [collate([data.train[i] for i in batches[b]]) for b in torch.randperm(len(batches), generator=generator).tolist()]


def reference_forecasting(prepared, batch_size, generator):
    order = prepared.train[torch.randperm(len(prepared.train), generator=generator).numpy()]
    return [prepared.data.windows(order[i : i + batch_size]) for i in range(0, len(order), batch_size)]


def reference_captioning(data, batch_size, generator):
    from harness_tasks.captioning.task import collate, random_shift

    order = torch.randperm(len(data.train.pairs), generator=generator).tolist()
    out = []
    for i in range(0, len(order), batch_size):
        images, captions_in, captions_out = collate(data.train, [data.train.pairs[j] for j in order[i : i + batch_size]])
        if data.augment_shift:
            images = random_shift(images, data.augment_shift, generator, fill=[-m / s for m, s in zip(data.mean, data.std)])
        out.append((images, captions_in, captions_out))
    return out


def same(a, b) -> bool:
    return len(a) == len(b) and all(torch.equal(x, y) for x, y in zip(a, b))


def spec_with(task: str, dataset: dict):
    return parse_spec({"study": {"name": "p", "task": task}, "dataset": dataset, "budget": {"max_epochs": 1}}, source="test")


@pytest.mark.parametrize("task,dataset,reference,batch_size", [
    ("translation", {**TINY["translation"], "train_size": 300, "batches": "bucketed"}, reference_translation, 16),
    ("forecasting", TINY["forecasting"], reference_forecasting, 64),
    ("captioning", {**TINY["captioning"], "train_size": 60, "augment_shift": 2}, reference_captioning, 32),
])
def test_the_loader_yields_the_batches_of_the_list_it_replaced(task, dataset, reference, batch_size):
    task_obj, data = load_data(spec_with(task, dataset), resolve_data_dir(None))
    loader = train_loader(task_obj, data, batch_size, torch.Generator(device="cpu").manual_seed(5))
    expected_generator = torch.Generator(device="cpu").manual_seed(5)
    for _ in range(2):  # two epochs: the generator carries over
        got, expected = list(loader), reference(data, batch_size, expected_generator)
        assert len(got) == len(expected) == len(loader)
        assert all(same(g, e) for g, e in zip(got, expected))


def test_translation_batches_are_bucketed_by_default_and_random_on_request():
    """Random batches (``batches = "random"``) are consecutive slices of one random permutation per epoch."""
    from harness_tasks.translation.task import BucketBatches

    task, data = load_data(spec_with("translation", {**TINY["translation"], "train_size": 300}), resolve_data_dir(None))
    assert isinstance(train_loader(task, data, 16, torch.Generator(device="cpu").manual_seed(0)).batch_sampler, BucketBatches)
    task, data = load_data(spec_with("translation", {**TINY["translation"], "train_size": 300, "batches": "random"}),
                           resolve_data_dir(None))
    loader = train_loader(task, data, 16, torch.Generator(device="cpu").manual_seed(0))
    expected = torch.randperm(len(data.train), generator=torch.Generator(device="cpu").manual_seed(0)).tolist()
    assert [i for batch in loader.batch_sampler for i in batch] == expected


def test_bucketing_keeps_every_pair_once_and_pads_little():
    task, data = load_data(spec_with("translation", {**TINY["translation"], "train_size": 300, "batches": "bucketed"}),
                           resolve_data_dir(None))
    loader = train_loader(task, data, 16, torch.Generator(device="cpu").manual_seed(0))
    sampler = loader.batch_sampler
    indices = [i for batch in sampler for i in batch]
    assert sorted(indices) == list(range(len(data.train))) and len(loader) == math.ceil(len(data.train) / 16)
    from harness.data import ShuffledBatches

    def padding(batches):  # over source and target positions (the target with its EOS) together
        lengths = [[len(data.train[i][0]) for i in b] + [len(data.train[i][1]) + 1 for i in b] for b in batches]
        real = sum(map(sum, lengths))
        return 1 - real / sum(len(b) * (max(len(data.train[i][0]) for i in b) + max(len(data.train[i][1]) + 1 for i in b))
                              for b in batches)

    shuffled = list(ShuffledBatches(len(data.train), 16, torch.Generator(device="cpu").manual_seed(0)))
    assert padding(list(sampler)) < 0.2 and padding(list(sampler)) < padding(shuffled) / 2


def test_loader_workers_train_exactly_like_the_training_process():
    results = []
    for workers in (0, 1):
        spec = tiny_spec("translation", "rnn", device="cpu", data_workers=workers)
        task, data = load_data(spec, resolve_data_dir(None))
        config = config_of(spec)
        results.append(fit(task, seeded_model(task, config, data, 2), data, config, spec.to_budget(), metric="chrf",
                           direction="maximize", seed=2, placement=spec.to_placement()))
    assert results[0].history[0]["train_loss"] == results[1].history[0]["train_loss"]
    assert results[0].lr_per_step == results[1].lr_per_step
