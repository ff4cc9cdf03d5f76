import os, sys; sys.path.insert(0, os.path.dirname(os.path.abspath(__file__))); from q import *
import pickle
M=pickle.load(open(W('man.pkl'),'rb')); L=np.array(M['langs'])
mo=np.repeat(np.arange(len(M['P'])), M['counts'])
c_en=M['P'][L=='en'].mean(0); c_zh_ref=M['P'][L=='zh'].mean(0)
cs_en=M['S'][L[mo]=='en'].mean(0); cs_zh_ref=M['S'][L[mo]=='zh'].mean(0)
c_zh=P.mean(0); cs_zh=S.mean(0)
def nz(x): return x/np.linalg.norm(x,axis=-1,keepdims=True)
def run(name,f):
    a=hits(f,'en'); b=hits(f,'zh'); print(f"{name:40s} en {a[:3]} zh {b[:3]}")
run('plain', lambda v,i: score(v,P,S))
Pc=nz(P-c_zh); Sc=nz(S-cs_zh)
run('A: q-c_en ; P-c_zh(corpus)', lambda v,i: score(nz(v-c_en),Pc,Sc) if Q[i]['lang']=='en' else score(v,P,S))
Pr=nz(P-c_zh_ref); Sr=nz(S-cs_zh_ref)
run('A2: q-c_en ; P-c_zh(ref)', lambda v,i: score(nz(v-c_en),Pr,Sr) if Q[i]['lang']=='en' else score(v,P,S))
run('C: q+(czh_ref-c_en)', lambda v,i: score(nz(v+c_zh_ref-c_en),P,S) if Q[i]['lang']=='en' else score(v,P,S))
run('C2: q+(czh-c_en) corpus', lambda v,i: score(nz(v+c_zh-c_en),P,S) if Q[i]['lang']=='en' else score(v,P,S))
for beta in [0.5,1,2]:
  for m in [3,5,10]:
    def prf(v,i,beta=beta,m=m):
        s=score(v,P,S); top=np.argsort(-s)[:m]
        v2=nz(v+beta*P[top].mean(0)); return score(v2,P,S)
    run(f'B: prf beta={beta} m={m}', prf)
