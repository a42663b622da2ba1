#!/usr/bin/env python3
"""Independent reference for the face pipeline: the same ONNX models driven from
Python (onnxruntime + OpenCV + numpy), following faceplugin's lib/*.js.

Two uses:
  * reference numbers for the Rust unit tests (`reference.py dump IMG...`),
  * the Python baseline of the benchmark (`reference.py bench IMG [THREADS]`,
    and per stage: `reference.py stages IMG`),
  * the passive model's sensitivity (`reference.py passive-noise IMG`).

It reproduces the JS quirks that decide what the models see (canvas RGBA read,
then BGR conversion codes: the detector and pose get BGR, the embedder and the
liveness model RGB; greyscale with swapped weights) and applies the same fixes
as the Rust engine: cosine similarity on L2-normalised embeddings, the largest
face, pose crop clamped to the image, and a 5-point similarity alignment.
"""
import json
import sys
import time

import cv2
import numpy as np
import onnxruntime as ort

MODELS = "ops/vendor/models"
REF5 = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
                 [41.5493, 92.3655], [70.7299, 92.2041]], dtype=np.float32)


def session(name, threads):
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    return ort.InferenceSession(f"{MODELS}/{name}.onnx", so, providers=["CPUExecutionProvider"])


class Pipeline:
    def __init__(self, threads=1):
        self.det = session("fr_detect", threads)
        self.lmk = session("fr_landmark", threads)
        self.feat = session("fr_feature", threads)
        self.live = session("fr_liveness", threads)
        self.eye = session("fr_eye", threads)
        self.pose = session("fr_pose", threads)

    def detect(self, rgb):
        h, w = rgb.shape[:2]
        small = cv2.resize(rgb, (320, 240), interpolation=cv2.INTER_LINEAR)
        bgr = small[:, :, ::-1].astype(np.float32)  # BGR2RGB applied to RGBA
        x = ((bgr - 127.0) / 128.0).transpose(2, 0, 1)[None]
        scores, boxes = self.det.run(["scores", "boxes"], {"input": np.ascontiguousarray(x)})
        scores, loc = scores[0][:, 1], boxes[0]
        # The export already decodes the boxes (corner form, relative): the JS
        # computes prior-box decoding and then uses the raw output, as here.
        dec = loc * np.array([320, 240, 320, 240])
        keep = scores >= 0.65
        dec, sc = dec[keep], scores[keep]
        order = np.argsort(-sc, kind="stable")[:750]
        dec, sc = dec[order], sc[order]
        picked = nms_js(dec, 0.4)
        out = []
        for i in picked:
            x1, y1, x2, y2 = dec[i] * np.array([w / 320, h / 240, w / 320, h / 240])
            f = y2 - y1
            cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
            out.append((max(cx - f / 2, 0), max(cy - f / 2, 0), min(cx + f / 2, w - 1), min(cy + f / 2, h - 1), float(sc[i])))
        return out

    def landmarks(self, rgb, box):
        x1, y1, x2, y2 = (int(v) for v in box[:4])
        bw, bh = abs(x2 - x1), abs(y2 - y1)
        crop = crop_scaled(rgb, (x1, y1, bw, bh), 1.0)
        g = grey_swapped(cv2.resize(crop, (64, 64), interpolation=cv2.INTER_LINEAR))
        x = (g.astype(np.float32) / 256.0)[None, None]
        out = self.lmk.run(["output"], {"input": x})[0][0]
        pts = out.reshape(68, 2) * np.array([bw, bh]) + np.array([x1, y1])
        return np.trunc(pts)

    def embed(self, rgb, pts68):
        src = five_points(pts68)
        # least-squares similarity over all 5 points (Umeyama without reflection)
        m = similarity(src, REF5)
        face = cv2.warpAffine(rgb, m, (112, 112), flags=cv2.INTER_LINEAR)
        x = ((face.astype(np.float32) - 127.0) / 128.0).transpose(2, 0, 1)[None]
        e = self.feat.run(["output"], {"input": np.ascontiguousarray(x)})[0][0]
        return e / np.linalg.norm(e)

    def liveness(self, rgb, box):
        x1, y1, x2, y2 = (int(v) for v in box[:4])
        crop = crop_scaled(rgb, (x1, y1, abs(x2 - x1), abs(y2 - y1)), 2.7)
        face = cv2.resize(crop, (128, 128), interpolation=cv2.INTER_LINEAR).astype(np.float32)
        out = self.live.run(["output"], {"input": np.ascontiguousarray(face.transpose(2, 0, 1)[None])})[0][0]
        return softmax(out)

    def pose_of(self, rgb, box):
        h, w = rgb.shape[:2]
        x1, y1, x2, y2 = (int(v) for v in box[:4])
        bw, bh = abs(x2 - x1), abs(y2 - y1)
        a, b = max(int(x1 - bw / 4), 0), max(int(y1 - bh / 4), 0)
        c, d = min(int(x2 + bw / 4), w), min(int(y2 + bh / 4), h)
        face = cv2.resize(rgb[b:d, a:c], (224, 224), interpolation=cv2.INTER_LINEAR)[:, :, ::-1]
        x = (face / 255.0 - np.array([0.485, 0.456, 0.406])) / np.array([0.229, 0.224, 0.225])
        outs = self.pose.run(None, {"input": np.ascontiguousarray(x.transpose(2, 0, 1)[None].astype(np.float32))})
        idx = np.arange(66)
        return [float((softmax(o[0]) * idx).sum() * 3 - 99) for o in outs]

    def verify_one(self, rgb):
        faces = self.detect(rgb)
        box = max(faces, key=lambda f: (f[2] - f[0]) * (f[3] - f[1]))
        pts = self.landmarks(rgb, box)
        live = self.liveness(rgb, box)
        return self.embed(rgb, pts), live


def nms_js(boxes, thresh):
    """faceplugin's cpuNMS: ordered by bottom edge, overlap over the other box's area."""
    found = [(i, b) for i, b in enumerate(boxes) if b[2] - b[0] > 0 and b[3] - b[1] > 0]
    found.sort(key=lambda t: t[1][3])
    pick = []
    while found:
        i0, last = found[0]
        pick.append(i0)
        rest = []
        for i, b in found[1:]:
            w = max(0, min(b[2], last[2]) - max(b[0], last[0]) + 1)
            h = max(0, min(b[3], last[3]) - max(b[1], last[1]) + 1)
            if (w * h) / ((b[2] - b[0]) * (b[3] - b[1])) < thresh:
                rest.append((i, b))
        found = rest
    return pick


def crop_scaled(img, bbox, scale_value):
    src_h, src_w = img.shape[:2]
    x, y, bw, bh = bbox
    scale = min((src_h - 1) / bh, (src_w - 1) / bw, scale_value)
    nw, nh = bw * scale, bh * scale
    cx, cy = bw / 2 + x, bh / 2 + y
    l, t, r, b = cx - nw / 2, cy - nh / 2, cx + nw / 2, cy + nh / 2
    if l < 0: r -= l; l = 0
    if t < 0: b -= t; t = 0
    if r > src_w - 1: l -= r - src_w + 1; r = src_w - 1
    if b > src_h - 1: t -= b - src_h + 1; b = src_h - 1
    x0, y0 = max(int(l), 0), max(int(t), 0)
    return img[y0:y0 + min(int(b - t), src_h - 1), x0:x0 + min(int(r - l), src_w - 1)]


def grey_swapped(rgb):
    r, g, b = rgb[:, :, 0].astype(np.float32), rgb[:, :, 1].astype(np.float32), rgb[:, :, 2].astype(np.float32)
    return np.clip(np.round(0.114 * r + 0.587 * g + 0.299 * b), 0, 255).astype(np.uint8)


def five_points(p):
    le = p[[37, 38, 40, 41]].mean(0)
    re = p[[43, 44, 46, 47]].mean(0)
    return np.array([le, re, p[30], (p[48] + p[60]) / 2, (p[54] + p[64]) / 2], dtype=np.float32)


def similarity(src, dst):
    n = len(src)
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s, d = src - mu_s, dst - mu_d
    cov = d.T @ s / n
    u, sig, vt = np.linalg.svd(cov)
    sgn = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sgn[1, 1] = -1
    r = u @ sgn @ vt
    c = (sig * np.diag(sgn)).sum() / (s ** 2).sum() * n
    t = mu_d - c * r @ mu_s
    return np.hstack([c * r, t[:, None]]).astype(np.float64)


def softmax(v):
    e = np.exp(v - v.max())
    return e / e.sum()


def load(path):
    return cv2.cvtColor(cv2.imread(path, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "dump":
        p = Pipeline()
        for path in args:
            rgb = load(path)
            faces = p.detect(rgb)
            rec = {"image": path, "faces": [[round(v, 2) for v in f] for f in faces]}
            if faces:
                box = max(faces, key=lambda f: (f[2] - f[0]) * (f[3] - f[1]))
                pts = p.landmarks(rgb, box)
                rec["five_points"] = five_points(pts).round(2).tolist()
                rec["liveness"] = p.liveness(rgb, box).round(4).tolist()
                rec["pose"] = [round(v, 2) for v in p.pose_of(rgb, box)]
                rec["embedding"] = p.embed(rgb, pts).round(5).tolist()
            print(json.dumps(rec))
    elif cmd == "pairs":
        p = Pipeline()
        base = args[1]
        cache = {}
        import csv
        for row in csv.DictReader(open(args[0])):
            for f in (row["file_x"], row["file_y"]):
                if f not in cache:
                    cache[f] = p.verify_one(load(f"{base}/{f}"))[0]
            print(f'{row["file_x"]},{row["file_y"]},{row["Decision"]},{float(cache[row["file_x"]] @ cache[row["file_y"]]):.4f}')
    elif cmd == "stages":
        p = Pipeline(1)
        data = open(args[0], "rb").read()
        decode = lambda: cv2.cvtColor(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
        rgb = decode()
        box = max(p.detect(rgb), key=lambda f: (f[2] - f[0]) * (f[3] - f[1]))
        pts = p.landmarks(rgb, box)
        stages = {"decode": decode, "detect": lambda: p.detect(rgb), "landmarks": lambda: p.landmarks(rgb, box),
                  "passive_liveness": lambda: p.liveness(rgb, box), "align_and_embed": lambda: p.embed(rgb, pts)}
        out = {}
        for name, f in stages.items():
            f()
            t0 = time.perf_counter()
            for _ in range(50):
                f()
            out[name] = round((time.perf_counter() - t0) / 50 * 1000, 2)
        print(json.dumps({"ms_per_stage": out, "threads": 1}))
    elif cmd == "passive-noise":
        p = Pipeline()
        rgb = load(args[0])
        box = max(p.detect(rgb), key=lambda f: (f[2] - f[0]) * (f[3] - f[1]))
        rng = np.random.default_rng(1)
        scores = [round(float(p.liveness(rgb, box)[0]), 3)]
        for _ in range(5):
            noisy = np.clip(rgb.astype(int) + rng.integers(-1, 2, rgb.shape), 0, 255).astype(np.uint8)
            scores.append(round(float(p.liveness(noisy, box)[0]), 3))
        print(json.dumps({"image": args[0], "class0_clean_then_noisy": scores}))
    elif cmd == "bench":
        threads = int(args[1]) if len(args) > 1 else 1
        p = Pipeline(threads)
        data = open(args[0], "rb").read()
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < 10 or n < 20:
            rgb = cv2.cvtColor(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
            p.verify_one(rgb)
            n += 1
        dt = (time.perf_counter() - t0) / n
        print(json.dumps({"runs": n, "mean_ms": round(dt * 1000, 2), "threads": threads}))


if __name__ == "__main__":
    main()
