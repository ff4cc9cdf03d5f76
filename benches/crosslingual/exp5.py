import os, sys; sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from exp3 import *
def nz(x): return x/np.linalg.norm(x,axis=-1,keepdims=True)
Xq=np.load(W('wp_en_q.npy')); Xp=np.load(W('wp_en_p.npy')); Y=np.load(W('wp_zh_p.npy'))
def procrustes(X,Y,centre=True):
    mx,my=(X.mean(0),Y.mean(0)) if centre else (0,0)
    U,_,Vt=np.linalg.svd((X-mx).T@(Y-my)); W=U@Vt
    return lambda v: nz((v-mx)@W+my)
def ridge(X,Y,lam):
    W=np.linalg.solve(X.T@X+lam*np.eye(X.shape[1]),X.T@Y)
    return lambda v: nz(v@W)
maps={'id':lambda v:v}
for nm,X in [('q',Xq),('p',Xp)]:
    maps[f'proc_{nm}']=procrustes(X,Y); maps[f'procnc_{nm}']=procrustes(X,Y,False)
    for lam in [1,10]: maps[f'ridge{lam}_{nm}']=ridge(X,Y,lam)
    maps[f'shift_{nm}']=(lambda mx,my: (lambda v: nz(v-mx+my)))(X.mean(0),Y.mean(0))
for nm,f in maps.items():
  for a in [1.0,0.5]:
    g=(lambda v,f=f,a=a: nz((1-a)*v+a*f(v)))
    ok1=ok5=0
    for j in sel:
        sc=dscore(g(Eq[j]),Pz,Sz,oz,cz); o=np.argsort(-sc)[:5]
        ok1+=zstem[o[0]]==stem[ei][j]; ok5+=(zstem[o]==stem[ei][j]).any()
    a_=hits(lambda v,i: score(g(v),P,S) if Q[i]['lang']=='en' else score(v,P,S),'en')
    print(f"{nm:12s} a={a}: man r@1 {ok1/len(sel):.3f} r@5 {ok5/len(sel):.3f} | seed en {a_[:3]}")
