import os, sys; sys.path.insert(0, os.path.dirname(os.path.abspath(__file__))); from load import *
I=load_index(R('.xref')); g=json.load(open(R('tests/gold/seed.json')))
Q=g['questions']; texts=[q['query'] for q in Q]
V=embed(texts,'query',W('seedq.npy'))
paras=I['paras']; P=I['P']; S=I['S']; st=I['starts']; cnt=I['counts']
owner=np.repeat(np.arange(len(P)), cnt)
def score(q, P, S, w=0.7):
    whole=P@q; s=S@q
    best=np.full(len(P), -9.0); np.maximum.at(best, owner, s)
    out=np.where(cnt>0,(1-w)*whole+w*best, whole)
    return out
def hits(scorefn, lang=None):
    h1=h5=mrr=0;n=0;fails=[]
    for qi,q in enumerate(Q):
        if lang and q['lang']!=lang: continue
        sc=scorefn(V[qi], qi); order=np.argsort(-sc)
        good=[i for i,p in enumerate(paras) if any(a in p['text'] for a in q['answers'])]
        ranks=[int(np.where(order==i)[0][0]) for i in good]; r=min(ranks)
        n+=1; h1+=r<1; h5+=r<5; mrr+= 1/(r+1) if r<10 else 0
        if r>=1: fails.append((r,q['query']))
    return round(h1/n,3), round(h5/n,3), round(mrr/n,3), fails
if __name__=='__main__':
    for l in [None,'en','zh']:
        print(l, hits(lambda v,i: score(v,P,S))[:3] if l is None else hits(lambda v,i: score(v,P,S), l)[:3])
    for r,t in hits(lambda v,i: score(v,P,S),'en')[3]: print(r,t)
