"""The catalogue of built-in components: attention types, model families and trackers, by name.

Kept apart from the registry mechanism (:mod:`harness.registry`), which imports this module on a registry's first
lookup. Entries are lazy ``"module:attribute"`` strings with their one-line summaries, so listing them imports
nothing heavy (no PyTorch). Schedules, samplers and pruners register themselves in the modules that define them
(:mod:`harness.schedules`, :mod:`harness.strategies`); tasks, their baselines and datasets come from entry points
(``pyproject.toml``), exactly as a plugin's do.
"""

from harness.registry import ATTENTION, MODELS, TRACKERS

for _name, _target, _summary in [
    ("none", "harness.attention.none:NoAttention", "no attention: fixed context from the last encoder state (Cho et al. 2014)"),
    ("dot", "harness.attention.dot:DotAttention", "Luong dot score h_t . h_s (Luong et al. 2015)"),
    ("general", "harness.attention.general:GeneralAttention", "Luong general score h_t^T W_a h_s (Luong et al. 2015)"),
    ("location", "harness.attention.location:LocationAttention",
     "Luong location-based a_t = softmax(W_a h_t) (Luong et al. 2015)"),
    ("additive", "harness.attention.additive:AdditiveAttention", "Bahdanau additive v^T tanh(W q + U k) (Bahdanau et al. 2015)"),
    ("scaled_dot", "harness.attention.scaled_dot:ScaledDotAttention",
     "scaled dot-product, one head, fused SDPA kernel (Vaswani et al. 2017)"),
    ("multihead", "harness.attention.multihead:MultiHeadAttention",
     "multi-head scaled dot-product, fused SDPA kernel (Vaswani et al. 2017)"),
]:
    ATTENTION.register(_name, _target, summary=_summary)

for _name, _target, _summary in [
    ("rnn", "harness.models.rnn_seq2seq:RNNSeq2Seq",
     "GRU/LSTM encoder-decoder, bidirectional encoder, input feeding, any attention type"),
    ("transformer", "harness.models.transformer:TransformerSeq2Seq",
     "Transformer encoder-decoder, multi-head self- and cross-attention (Vaswani et al. 2017)"),
    ("rnn_forecaster", "harness.models.forecasting.rnn:RNNForecaster",
     "RNN encoder-decoder forecaster, decoder attends over the look-back window, any attention type"),
    ("transformer_forecaster", "harness.models.forecasting.transformer:TransformerForecaster",
     "channel-independent Transformer encoder forecaster, optional PatchTST patching (Nie et al. 2023)"),
    ("attention_pooling", "harness.models.forecasting.pooling:AttentionPoolingForecaster",
     "feed-forward attention pooling over the look-back window, linear head (Raffel & Ellis 2015)"),
    ("show_attend_tell", "harness.models.captioning.lstm:ShowAttendTell",
     "LSTM captioner with soft attention over CNN regions, gating scalar, doubly stochastic attention (Xu et al. 2015)"),
    ("caption_transformer", "harness.models.captioning.transformer:TransformerCaptioner",
     "Transformer decoder over CNN region features (Vaswani et al. 2017)"),
    ("dlinear", "harness.models.forecasting.dlinear:DLinear",
     "DLinear: moving-average decomposition and linear layers, the linear reference (Zeng et al. 2023)"),
]:
    MODELS.register(_name, _target, summary=_summary)

TRACKERS.register("mlflow", "harness.trackers:MLflowTracker",
                  summary="MLflow: a parent run per study, a child run per trial, per-epoch metrics (needs mlflow-skinny)")
TRACKERS.register("tensorboard", "harness.trackers:TensorBoardTracker",
                  summary="TensorBoard event files per trial, per-epoch scalars (needs tensorboard)")
