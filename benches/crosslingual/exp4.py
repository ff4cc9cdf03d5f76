import os, sys; sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clir
from exp3 import *
def run(tag):
    global manlex, seedlex
    manlex=[lexm.score(etexts[j])[0] for j in sel]
    seedlex=[lexs.score(q['query'])[0] if q['lang']=='en' else None for q in Q]
    for w in [0.03,0.05,0.1,0.2]:
        ok1=ok5=0
        for k,j in enumerate(sel):
            sc=dscore(Eq[j],Pz,Sz,oz,cz)+w*manlex[k]
            o=np.argsort(-sc)[:5]; ok1+=zstem[o[0]]==stem[ei][j]; ok5+=(zstem[o]==stem[ei][j]).any()
        a=hits(lambda v,i: score(v,P,S)+(w*seedlex[i] if Q[i]['lang']=='en' else 0),'en')
        print(f"{tag} w={w}: man r@1 {ok1/len(sel):.3f} r@5 {ok5/len(sel):.3f} | seed en {a[:3]}")
# variant: drop ambiguous units (more than K corpus-present translations), weight 1/n
orig=clir.Lex.score
for K in [2,4]:
    def sc(self,q,K=K):
        us=clir.units(q); s=np.zeros(self.N); tot=0
        for u,tr in us:
            tr=[t for t in tr if len(t)>=2 or t.isdigit()]
            tr=[(t,self.idf(t)) for t in tr if self.idf(t)>0 and self.df[t]>0]
            if not tr or len(tr)>K: continue
            best=max(i for _,i in tr); tot+=best
            for k,x in enumerate(self.texts):
                s[k]+=max((i for t,i in tr if t in x),default=0)
        return (s/tot if tot>0 else s), us
    clir.Lex.score=sc
    run(f'K={K}')
