"""The learning-rate sweep behind sar_learner's default: a 6-block ViT-Tiny on 4,000 Fashion-MNIST images,
28x28, 4x4 patches, label smoothing 0.1, drop path 0.1, weight decay 0.05, fit_one_cycle for 4 epochs,
validated on the 10,000 test images; no SAR.

    python bench/lr_sweep.py                       # the six runs of the table in nbs/04_train.ipynb
    python bench/lr_sweep.py --runs 2e-3,64,aug    # one run: lr,batch,aug|noaug
"""
import argparse, json, time
from pathlib import Path
import timm
from fastai.vision.all import Learner, LabelSmoothingCrossEntropyFlat, accuracy, set_seed
from sar_nb.data import fashion_mnist_dls

RUNS = ['1e-3,64,aug', '2e-3,64,aug', '4e-3,64,aug', '1.4e-3,32,aug', '2e-3,32,aug', '2e-3,64,noaug']

def run(lr, bs, aug):
    set_seed(0)
    dls = fashion_mnist_dls(n_train=4000, img_size=28, bs=bs, augment=aug)
    model = timm.create_model('vit_tiny_patch16_224', pretrained=False, img_size=28, patch_size=4, in_chans=1,
                              num_classes=10, depth=6, drop_path_rate=0.1)
    learn = Learner(dls, model, loss_func=LabelSmoothingCrossEntropyFlat(eps=0.1), metrics=accuracy, wd=0.05)
    start = time.time()
    with learn.no_bar(): learn.fit_one_cycle(4, lr)
    train_loss, valid_loss, acc = map(float, learn.recorder.values[-1])
    return dict(lr=lr, bs=bs, augment=aug, accuracy=acc, valid_loss=valid_loss, seconds=round(time.time() - start))

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--runs', nargs='*', default=RUNS, help='runs as lr,batch,aug|noaug (default: the six of the table)')
    p.add_argument('--out', type=Path, default=None)
    args = p.parse_args()
    rows = []
    for r in args.runs:
        lr, bs, aug = r.split(',')
        rows.append(run(float(lr), int(bs), aug == 'aug')); print(json.dumps(rows[-1]), flush=True)
    if args.out: args.out.mkdir(parents=True, exist_ok=True); (args.out/'lr_sweep.json').write_text(json.dumps(rows, indent=1))
