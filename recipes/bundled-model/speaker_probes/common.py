"""What the speaker probes share: the quick pairs and their scoring (similarity to the target and to the source,
median-F0 error, pocketsphinx WER against the source's own transcript, DNSMOS overall), per variant."""
import csv
import numpy as np, librosa
from mediumvc import SAMPLE_RATE, load_audio
from mediumvc.evaluation.pitch import median_f0, semitones
from mediumvc.evaluation.asr import Transcriber, wer
from mediumvc.evaluation.quality import dnsmos

to16 = lambda w: librosa.resample(w, orig_sr=SAMPLE_RATE, target_sr=16000)


def quick_pairs(vc, pairs_tsv, n=11, seconds=4):
    """Yields (source file name, source wav (first 4 s, as the converter loads it), target path, TargetVoice, the
    target's median F0 by the evaluation's tracker) for the first n pairs of a pairs TSV."""
    for row in list(csv.DictReader(open(pairs_tsv), delimiter="\t"))[:n]:
        tpath = row["target"].split("|")[0]
        yield (row["source"].split("/")[-1], vc.load_source(load_audio(row["source"])[: seconds * SAMPLE_RATE]), tpath, vc.target_voice([tpath]),
               median_f0(load_audio(tpath), SAMPLE_RATE))


class Scores:
    """Collects the quick metrics of each variant's output, pair by pair."""

    def __init__(self, encoder):
        self.enc, self.asr, self.res = encoder, Transcriber(), {}

    def add(self, name, wav, source, voice, target_f0, **extra):
        r = self.res.setdefault(name, {})
        e = self.enc.embed([wav])
        values = {"sim": float(e @ voice.dvector), "src": float(e @ self.enc.embed([source])),
                  "f0": abs(semitones(median_f0(wav, SAMPLE_RATE), target_f0)),
                  "wer": wer(self.transcript(source), self.asr(to16(wav))), "mos": dnsmos(to16(wav))["ovrl"], **extra}
        for key, value in values.items():
            r.setdefault(key, []).append(value)

    def transcript(self, source):
        if getattr(self, "_source", None) is not source:  # once per source, not per variant
            self._source, self._text = source, self.asr(to16(source))
        return self._text

    def print_pair(self, label):
        print(label, {k: (round(v["sim"][-1], 3), round(v["wer"][-1], 2)) for k, v in self.res.items()}, flush=True)

    def print_summary(self):
        for k, d in self.res.items():
            print(k, {m: round(float(np.nanmean(v)), 3) for m, v in d.items()})
