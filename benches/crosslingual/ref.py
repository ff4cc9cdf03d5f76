import os, sys; sys.path.insert(0, os.path.dirname(os.path.abspath(__file__))); from load import *
M=load_index(R('target/parallel/.xref'))
L=np.array(M['langs']); print({l:(L==l).sum() for l in set(L)})
np.save(W('man_P.npy'), M['P']); 
import pickle; pickle.dump(M, open(W('man.pkl'),'wb'))
