"""Write the SingleVC inside a model directory (e.g. the bundled one) as a SingleVC directory of its own, the
form `mediumvc precompute-ssif --singlevc` and MediumVC training's `singlevc=` take. A fresh machine has no
`~/runs/singlevc_joe_3k`; the bundled model carries the same network (stored in fp16, loaded back as fp32).

    python recipes/bundled-model/extract_singlevc.py mediumvc/pretrained/default ~/runs/singlevc_rev6
"""

import argparse

from safetensors.torch import load_file

from mediumvc.checkpoint import WEIGHTS_FILE, load_model_dir, save_part_dir

ap = argparse.ArgumentParser()
ap.add_argument("model_dir")
ap.add_argument("out")
args = ap.parse_args()
config = load_model_dir(args.model_dir).config  # validates the directory first
state = {
    k[len("singlevc.") :]: v.float()
    for k, v in load_file(f"{args.model_dir}/{WEIGHTS_FILE}").items()
    if k.startswith("singlevc.")
}
save_part_dir(args.out, "singlevc", config.singlevc, state, info={"extracted_from": str(args.model_dir)})
print(f"SingleVC of {args.model_dir} -> {args.out}")
