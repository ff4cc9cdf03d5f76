import numpy as np, json, gzip, os, subprocess
ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))
WORK = os.path.abspath(os.environ.get('XREF_XL_WORK', os.path.join(ROOT, 'target', 'crosslingual')))
def R(p): return os.path.join(ROOT, p)
def W(p): return os.path.join(WORK, p)
def dec(path, dim=384):
    b = np.fromfile(path, dtype=np.uint8)
    rb = 4+dim; b = b.reshape(-1, rb)
    sc = b[:, :4].copy().view('<f4')[:, 0]
    q = b[:, 4:].view(np.int8).astype(np.float32)
    v = q*sc[:, None]; v /= np.linalg.norm(v, axis=1, keepdims=True)
    return v
def load_index(d):
    cur = open(os.path.join(d, 'CURRENT')).read().split()[0]
    g = os.path.join(d, cur)
    P = dec(os.path.join(g, 'vectors.i8'))
    S = dec(os.path.join(g, 'sentences.i8')) if os.path.getsize(os.path.join(g,'sentences.i8')) else np.zeros((0,384),np.float32)
    counts = np.fromfile(os.path.join(g, 'sentences.u32'), dtype='<u4')
    paras = [json.loads(l) for l in gzip.open(os.path.join(g, 'paragraphs.jsonl.gz'), 'rt')]
    langs = json.load(open(os.path.join(g, 'languages.json')))
    starts = np.concatenate([[0], np.cumsum(counts)])
    return dict(P=P, S=S, counts=counts, starts=starts, paras=paras, langs=langs)
def embed(texts, prefix, cache):
    if os.path.exists(cache):
        return np.load(cache)
    inp = cache + '.txt'
    open(inp, 'w').write('\n'.join(t.replace('\n', ' ') for t in texts) + '\n')
    out = subprocess.run([R('target/release/xref'), 'embed', '--prefix', prefix, '--input', inp], capture_output=True, text=True, cwd=R('.')).stdout
    V = np.array([json.loads(l)['embedding'] for l in out.splitlines()], dtype=np.float32)
    np.save(cache, V); return V
