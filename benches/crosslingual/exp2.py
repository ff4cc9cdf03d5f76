import os, sys; sys.path.insert(0, os.path.dirname(os.path.abspath(__file__))); from q import *
import pickle, os
def nz(x): return x/np.linalg.norm(x,axis=-1,keepdims=True)
M=pickle.load(open(W('man.pkl'),'rb')); L=np.array(M['langs'])
mo=np.repeat(np.arange(len(M['P'])), M['counts'])
stem=np.array([os.path.basename(p['source']) for p in M['paras']])
zi=np.where(L=='zh')[0]; ei=np.where(L=='en')[0]
Pz=M['P'][zi]; 
# sentences of zh rows
smask=np.isin(mo,zi); Sz=M['S'][smask]; oz=np.searchsorted(zi, mo[smask]); cz=np.bincount(oz,minlength=len(zi))
Eq=np.load(W('man_en_q.npy')); Ep=M['P'][ei]
zstem=stem[zi]; has=np.isin(stem[ei], zstem)
def mscore(q,P,S):
    whole=P@q.T  # n x m
    best=np.full((len(P),q.shape[0]),-9.0,dtype=np.float32)
    s=S@q.T
    np.maximum.at(best, oz, s)
    return np.where((cz>0)[:,None],0.3*whole+0.7*best,whole)
def man(qv, P, S):
    sc=mscore(qv[has],P,S)  # nz x nq
    tgt=stem[ei][has]
    order=np.argsort(-sc,axis=0)[:10]
    ok=zstem[order]==tgt[None,:]
    r1=ok[0].mean(); r5=ok[:5].any(0).mean(); r10=ok.any(0).mean()
    return round(r1,3),round(r5,3),round(r10,3)
U={l:(np.load(W(f'udhr_{l}_p.npy')),np.load(W(f'udhr_{l}_q.npy'))) for l in ['en','zh','ja','ko','ru','ar']}
ue_p,ue_q=U['en'][0].mean(0),U['en'][1].mean(0); uz_p=U['zh'][0].mean(0)
Szall=M['S'][smask]
cz_corp=Pz.mean(0); csz_corp=Sz.mean(0)
c_zh_seed=P.mean(0); cs_zh_seed=S.mean(0)
def variants():
    yield 'plain', lambda v:v, (Pz,Sz), (P,S)
    for en_c,nm in [(ue_p,'p'),(ue_q,'q')]:
        yield f'A udhr en_{nm}; zh udhr', lambda v,c=en_c: nz(v-c), (nz(Pz-uz_p),nz(Sz-uz_p)), (nz(P-uz_p),nz(S-uz_p))
        yield f'A udhr en_{nm}; zh corpus', lambda v,c=en_c: nz(v-c), (nz(Pz-cz_corp),nz(Sz-csz_corp)), (nz(P-c_zh_seed),nz(S-cs_zh_seed))
        yield f'C shift udhr zh_p-en_{nm}', lambda v,c=en_c: nz(v+uz_p-c), (Pz,Sz), (P,S)
for name,qf,man_ps,seed_ps in variants():
    mq=man(qf(Eq),*man_ps); mp=man(qf(Ep),*man_ps)
    a=hits(lambda v,i: score(qf(v),*seed_ps) if Q[i]['lang']=='en' else score(v,P,S),'en')
    print(f"{name:32s} man(q) {mq} man(p) {mp} | seed en {a[:3]}")
