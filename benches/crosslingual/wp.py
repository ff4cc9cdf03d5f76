import os, sys,re,json,random; sys.path.insert(0, os.path.dirname(os.path.abspath(__file__))); from load import *
s=open(W('ced/package/data/all.js')).read(); s=s[s.index('{'):].rstrip().rstrip(';'); d=json.loads(s)['all']
pairs=[]
for e in d:
    simp=e[1]; defs=e[3] if isinstance(e[3],list) else [e[3]]
    if not re.fullmatch(r'[\u4e00-\u9fff]{2,4}',simp): continue
    if e[2][:1].isupper() or not defs: continue
    first=re.sub(r'\([^)]*\)','',defs[0].split(';')[0]).strip()
    first=re.sub(r'^to ','',first)
    if re.fullmatch(r'[a-z]+( [a-z]+){0,2}',first) and 'variant' not in defs[0]: pairs.append((first,simp))
random.seed(7); random.shuffle(pairs); pairs=pairs[:6000]
print(len(pairs), pairs[:10])
json.dump(pairs,open(W('pairs.json'),'w'),ensure_ascii=False)
embed([p[0] for p in pairs],'query',W('wp_en_q.npy'))
embed([p[0] for p in pairs],'passage',W('wp_en_p.npy'))
embed([p[1] for p in pairs],'passage',W('wp_zh_p.npy'))
