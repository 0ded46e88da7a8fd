"""How does the SSIF's F0 relate to its source's? dio medians on 4 s crops."""
import csv, json, sys, numpy as np, torch, pyworld, soundfile as sf, librosa
from mediumvc import SAMPLE_RATE, load_audio
from mediumvc.evaluation.pitch import median_f0
from mediumvc.vocoder.hifigan import load_hifigan
from mediumvc.audio import denormalize_mel
torch.set_num_threads(1)
rows = [r for r in csv.DictReader(open('/root/runs/store_dev/manifest.tsv'), delimiter='\t')
        if not r['speaker'].startswith('fillets')]
rng = np.random.default_rng(0); pick = rng.choice(len(rows), int(sys.argv[1]), replace=False)
voc = load_hifigan().eval()
def dio_med(x):
    x = x.astype(np.float64); f0, t = pyworld.dio(x, SAMPLE_RATE, frame_period=10.0); f0 = pyworld.stonemask(x, f0, t, SAMPLE_RATE)
    v = f0[f0 > 0]; return float(np.median(v)) if len(v) > 10 else float('nan')
out = []
for i in pick:
    r = rows[i]; uid = r['uid']
    ssif = np.load(f"/root/runs/ssif_joe_3k/items/{uid}.npy")[0][:344].astype(np.float32)
    wav = load_audio(r['source'])[: 344 * 256]
    with torch.no_grad():
        y = voc(denormalize_mel(torch.from_numpy(ssif)).T.unsqueeze(0)).numpy()
    out.append({"uid": uid, "speaker": r['speaker'], "src": median_f0(wav, SAMPLE_RATE), "ssif": median_f0(np.asarray(y).reshape(-1), SAMPLE_RATE), "src_dio": dio_med(wav)})
    print(json.dumps(out[-1]), flush=True)
