import os, sys; sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from exp3 import *
def nz(x): return x/np.linalg.norm(x,axis=-1,keepdims=True)
Qp=embed([q['query'] for q in Q],'passage',W('seedq_p.npy'))
Ep=M['P'][ei]
def man_eval(qvecs, w):
    ok1=ok5=0
    for j in sel:
        q=qvecs[j]
        whole=Pz@q; best=np.full(len(Pz),-9.0); np.maximum.at(best,oz,Sz@q)
        sc=np.where(cz>0,(1-w)*whole+w*best,whole)
        o=np.argsort(-sc)[:5]; ok1+=zstem[o[0]]==stem[ei][j]; ok5+=(zstem[o]==stem[ei][j]).any()
    return ok1/len(sel), ok5/len(sel)
for w in [0.3,0.5,0.7,0.85,1.0]:
    for name,qm,qs in [('query',Eq,V),('avg',nz(Eq+Ep),nz(V+Qp)),('passage',Ep,Qp)]:
        m=man_eval(qm,w)
        a=hits(lambda v,i: score(qs[i],P,S,w),'en')
        print(f"w={w} {name:8s} man r@1 {m[0]:.3f} r@5 {m[1]:.3f} | seed en {a[:3]}")
