"""How much of the source's voice is left in evaluated outputs: resemblyzer similarity of each output to its
source, beside its similarity to the target, per method of `mediumvc evaluate conversions` results.json files.

    python leak.py REPORT_DIR [REPORT_DIR ...]
"""
import json, sys
import numpy as np
from mediumvc.speaker import make_speaker_encoder

enc = make_speaker_encoder("resemblyzer")
for report in sys.argv[1:]:
    rows = [r for r in json.load(open(f"{report}/results.json"))["rows"] if not r.get("failed")]
    for method in sorted({r["method"] for r in rows}):
        mine = [r for r in rows if r["method"] == method]
        to_source = [float(enc.embed([r["output"]]) @ enc.embed([r["source"]])) for r in mine]
        print(json.dumps({"report": report, "method": method, "pairs": len(mine),
                          "sim_output_source": round(float(np.mean(to_source)), 3),
                          "sim_output_target": round(float(np.mean([r["sim_target"] for r in mine])), 3),
                          "sim_source_target": round(float(np.mean([r["sim_source_target"] for r in mine])), 3)}))
