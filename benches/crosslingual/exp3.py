import os, sys; sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from q import *
from clir import Lex, units
import pickle, os
M=pickle.load(open(W('man.pkl'),'rb')); L=np.array(M['langs'])
mo=np.repeat(np.arange(len(M['P'])), M['counts'])
stem=np.array([os.path.basename(p['source']) for p in M['paras']])
zi=np.where(L=='zh')[0]; ei=np.where(L=='en')[0]
Pz=M['P'][zi]; smask=np.isin(mo,zi); Sz=M['S'][smask]; oz=np.searchsorted(zi, mo[smask]); cz=np.bincount(oz,minlength=len(zi))
Eq=np.load(W('man_en_q.npy'))
zstem=stem[zi]; etexts=[M['paras'][i]['text'] for i in ei]
has=np.isin(stem[ei], zstem)
rng=np.random.default_rng(0); sel=np.where(has)[0]; sel=rng.choice(sel, 600, replace=False)
def dscore(q,P,S,owner,counts):
    whole=P@q; best=np.full(len(P),-9.0); np.maximum.at(best,owner,S@q)
    return np.where(counts>0,0.3*whole+0.7*best,whole)
lexm=Lex([M['paras'][i]['text'] for i in zi])
manlex=[lexm.score(etexts[j])[0] for j in sel]
lexs=Lex([p['text'] for p in paras])
seedlex=[lexs.score(q['query'])[0] if q['lang']=='en' else None for q in Q]
for w in [0,0.05,0.1,0.2,0.3,0.5]:
    ok1=ok5=0
    for k,j in enumerate(sel):
        sc=dscore(Eq[j],Pz,Sz,oz,cz)+w*manlex[k]
        o=np.argsort(-sc)[:5]; ok1+=zstem[o[0]]==stem[ei][j]; ok5+=(zstem[o]==stem[ei][j]).any()
    a=hits(lambda v,i: score(v,P,S)+(w*seedlex[i] if Q[i]['lang']=='en' else 0),'en')
    print(f"w={w}: man en->zh-only r@1 {ok1/len(sel):.3f} r@5 {ok5/len(sel):.3f} | seed en {a[:3]}")
