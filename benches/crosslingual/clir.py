import os, sys,re,math,pickle,json,collections; sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np
from load import W, R
G=pickle.load(open(W('gloss.pkl'),'rb'))
s=open(W('ced/package/data/all.js')).read(); s=s[s.index('{'):].rstrip().rstrip(';'); d=json.loads(s)['all']
for e in d:
    defs=e[3] if isinstance(e[3],list) else [e[3]]
    for df in defs:
        for sense in df.split(';'):
            m=re.match(r'\s*([A-Z][a-z]+) (province|city|county|river|prefecture|region|autonomous region|mountain|lake)\b',sense)
            if m: G.setdefault(m.group(1).lower(),set()).add(e[1])
for e in d:
    py=e[2].split()
    if py and py[0][:1].isupper() and all(re.fullmatch(r'[A-Za-z:]+[1-5]',p) for p in py):
        key=''.join(re.sub(r'[0-9]','',p) for p in py).lower().replace(':','')
        G.setdefault(key,set()).add(e[1])
        if len(py)>2 and py[-1] in ('Sheng3','Shi4','Xian4') :
            G.setdefault(''.join(re.sub(r'[0-9]','',p) for p in py[:-1]).lower(),set()).add(e[1][:-1])
STOP=set('a an the of to in on for and or is are was were be been by with what which who whom how why when where does do did should must can could would will it its this that these those as at from about into their there they them his her he she we our you your i not no than then so such has have had any all each every more most other some'.split())
def words(q): return re.findall(r"[a-z0-9]+(?:'[a-z]+)?", q.lower())
def lemma(w):
    c=[w]
    if w.endswith('ies'): c.append(w[:-3]+'y')
    if w.endswith('es'): c.append(w[:-2])
    if w.endswith('s'): c.append(w[:-1])
    if w.endswith("'s"): c.append(w[:-2])
    if w.endswith('ing'): c+= [w[:-3], w[:-3]+'e']
    if w.endswith('ed'): c+= [w[:-2], w[:-1]]
    return c
def units(q):
    ws=words(q); out=[]; used=set()
    for n in (4,3,2,1):
        for i in range(len(ws)-n+1):
            if any(j in used for j in range(i,i+n)): continue
            seg=ws[i:i+n]
            if n==1 and seg[0] in STOP: continue
            if seg[0] in STOP or seg[-1] in STOP: continue
            forms=[' '.join(seg)]
            forms+= [' '.join(seg[:-1]+[l]) for l in lemma(seg[-1])[1:]]
            tr=set()
            for f in forms: tr|=G.get(f,set())
            if seg[0].isdigit() and n==1: tr.add(seg[0])
            if tr:
                out.append((' '.join(seg),tr)); used|=set(range(i,i+n))
    return out
class Lex:
    def __init__(self, texts):
        self.texts=texts; self.N=len(texts); self.df={}
    def idf(self,t):
        if t not in self.df: self.df[t]=sum(t in x for x in self.texts)
        return math.log(1+(self.N-self.df[t]+0.5)/(self.df[t]+0.5))
    def score(self,q):
        us=units(q); sc=np.zeros(self.N); tot=0
        for u,tr in us:
            tr=[t for t in tr if len(t)>=2 or t.isdigit()]
            tr=[(t,self.idf(t)) for t in tr if self.df.get(t,None)!=0 and self.idf(t)>0 and self.df[t]>0]
            if not tr: continue
            best=max(i for _,i in tr); tot+=best
            for k,x in enumerate(self.texts):
                m=max((i for t,i in tr if t in x),default=0)
                sc[k]+=m
        return sc/tot if tot>0 else sc, us
if __name__=='__main__':
    for q in ["When did the Politburo hold its eleventh collective study session, and what was it about?","What is Liaoning's GDP growth target for 2024?","How many PhDs and senior-title professionals did Liaoning attract in 2023?"]:
        print(q, [(u,sorted(t)[:5]) for u,t in units(q)])
