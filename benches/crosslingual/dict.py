import os, sys; sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from load import W, R
import json,re,collections,pickle
s=open(W('ced/package/data/all.js')).read()
s=s[s.index('{'):].rstrip().rstrip(';')
d=json.loads(s)['all']
print(len(d), d[1000])
# gloss -> simplified headwords
G=collections.defaultdict(set)
for e in d:
    simp=e[1]; defs=e[3] if isinstance(e[3],list) else [e[3]]
    if not re.search(r'[\u4e00-\u9fff]',simp): continue
    for df in defs:
        for sense in df.split(';'):
            sense=re.sub(r'\([^)]*\)','',sense).strip().lower()
            sense=re.sub(r'^(to|a|an|the) ','',sense).strip()
            if sense.startswith('variant of') or sense.startswith('see ') or sense.startswith('old variant') or 'surname' in sense or sense.startswith('cl:'): continue
            if 0<len(sense.split())<=4: G[sense].add(simp)
print(len(G)); 
for w in ['politburo','eleventh','collective','study','liaoning','gdp','gross domestic product','dragon','vocational education','ethnic group','united front','teacher','ethics','education','green','productive forces','productivity']: print(w, sorted(G.get(w,[]))[:12])
pickle.dump(dict(G),open(W('gloss.pkl'),'wb'))
