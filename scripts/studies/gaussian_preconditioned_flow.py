#!/usr/bin/env python3
"""Study (not a library driver): a Gaussian-preconditioned Adams-Bashforth sampler for the flow ODE.

Flow problem of docs/samplers.md: dx/dt = u_t(x) on the CondOT path x_t = t x1 + (1 - t) z from
noise (t = 0) to data (t = 1), u = (D_t(x) - x)/(1 - t), D_t(x) = E[x1 | x_t = x] of a Gaussian
mixture in closed form. Let (mu, Sigma = Q diag(lam) Q^T) be the data's mean and covariance. For
Gaussian data N(mu, Sigma) the flow is x_t = t mu + Q diag(s(t)) xi with xi constant and
s_i(t) = sqrt(t^2 lam_i + (1 - t)^2). For any data, in the coordinates xi = diag(1/s(t)) Q^T (x - t mu)
the ODE is dxi/dt = f(xi, t) = diag(1/s) Q^T (u_t(x) - u^G_t(x)), where
u^G_t(x) = mu + Q diag(s'/s) Q^T (x - t mu) is the moment-matched Gaussian's velocity: f is the
non-Gaussian residual, 0 for Gaussian data and exactly 0 at t = 0 (both velocities are mu - z), so
the first node needs no model call. gp<k> integrates xi with the k-step Adams-Bashforth method
(Lagrange polynomial through the last k nodes, integrated exactly) on a uniform t grid of B + 1
steps for B model calls, and maps back at t = 1. It needs the data's first two moments (known for
an analytic target; for a trained model they would be computed from the training data).

Peers at B calls as in docs/samplers.md: fm-midpoint (B/2 steps), fm-rk4 (B/4 steps), uniform t.
The reference is this file's RK4 with 4,000 steps; n = 1,000 noise draws from numpy (not the
CLI's draws). `g16` is a 16-D mixture built like the builtin gauss16d with numpy's RNG (not the
same numbers).

Needs numpy and scipy (the peers' venv of scripts/peers/install.sh). About a minute per 2-D target.
Usage: python3 scripts/studies/gaussian_preconditioned_flow.py ring8|grid25|g16|MIXTURE.json
"""
import numpy as np, sys
from scipy.special import logsumexp
rng=np.random.default_rng(0)
def ring8():
    m=np.array([[4*np.cos(2*np.pi*k/8),4*np.sin(2*np.pi*k/8)] for k in range(8)]); return np.full(8,1/8),m,np.array([0.25*np.eye(2)]*8)
def grid25():
    c=[-4,-2,0,2,4]; m=np.array([[a,b] for a in c for b in c]); return np.full(25,1/25),m,np.array([0.09*np.eye(2)]*25)
def g16():
    r=np.random.default_rng(16); d=16; w=np.array([.5,.3,.2]); ms=[];cs=[]
    for k in range(3):
        ms.append(r.uniform(-3,3,d)); B=r.normal(size=(d,d)); cs.append(B@B.T/d+0.5*np.eye(d))
    return w,np.array(ms),np.array(cs)
import json
def fromjson(p):
    j=json.load(open(p)); return np.array(j['weights'],float),np.array(j['means'],float),np.array(j['covs'],float)
w,M,C=dict(ring8=ring8,grid25=grid25,g16=g16)[sys.argv[1]]() if not sys.argv[1].endswith('.json') else fromjson(sys.argv[1])
w=w/w.sum()
K,d=M.shape
mu=w@M; Sig=sum(w[k]*(C[k]+np.outer(M[k]-mu,M[k]-mu)) for k in range(K))
lam,Q=np.linalg.eigh(Sig)
def D(x,t):
    # E[x1 | x_t = x], x_t = t x1 + (1-t) z
    logits=[];outs=[]
    for k in range(K):
        Ck=t*t*C[k]+(1-t)**2*np.eye(d); A=np.linalg.inv(Ck); e=x-t*M[k]
        v=e@A; q=(e*v).sum(1); ld=np.linalg.slogdet(Ck)[1]
        logits.append(np.log(w[k])-0.5*q-0.5*ld); outs.append(M[k]+t*(v@C[k]))
    L=np.array(logits); r=np.exp(L-logsumexp(L,0)); return sum(r[k][:,None]*outs[k] for k in range(K))
def u(x,t): return (D(x,t)-x)/(1-t) if t<1 else None
# reference: rk4 fine in ξ-free form: integrate x with many rk4 steps up to 1-1e-6 then D
def ref(z,n=4000):
    x=z.copy(); ts=np.linspace(0,1,n+1)
    for i in range(n):
        a,b=ts[i],ts[i+1]; h=b-a
        if b==1.0:
            # last step: Euler-type in data prediction: x(1)=D(x,a) approx ok with tiny h
            k1=u(x,a); x=x+h*k1; break
        k1=u(x,a);k2=u(x+h/2*k1,a+h/2);k3=u(x+h/2*k2,a+h/2);k4=u(x+h*k3,b)
        x=x+h/6*(k1+2*k2+2*k3+k4)
    return x
n=1000; z=rng.normal(size=(n,d))
xr=ref(z)
err=lambda x: np.sqrt(((x-xr)**2).sum(1).mean())
def midpoint(N):
    x=z.copy(); ts=np.linspace(0,1,N+1)
    for i in range(N):
        a,b=ts[i],ts[i+1];h=b-a; k1=u(x,a); x=x+h*u(x+h/2*k1,a+h/2)
    return x
def rk4(N):
    x=z.copy(); ts=np.linspace(0,1,N+1)
    for i in range(N):
        a,b=ts[i],ts[i+1];h=b-a
        k1=u(x,a);k2=u(x+h/2*k1,a+h/2);k3=u(x+h/2*k2,a+h/2)
        # k4 at t=1: use D limit: u(x,1) undefined -> evaluate at 1-1e-9
        k4=u(x+h*k3,min(b,1-1e-9)); x=x+h/6*(k1+2*k2+2*k3+k4)
    return x
# Gaussian-preconditioned: xi = Q^T(x - t mu)/s(t), s_i = sqrt(t^2 lam_i + (1-t)^2)
s=lambda t: np.sqrt(t*t*lam+(1-t)**2)
sp=lambda t: (t*lam-(1-t))/s(t)
def f(xi,t):
    x=t*mu+(xi*s(t))@Q.T
    uu=u(x,t); ug=mu+((x-t*mu)@Q*(sp(t)/s(t)))@Q.T
    return ((uu-ug)@Q)/s(t)
def gp(calls,order=2,grid=None):
    N=calls+1  # f(0)=0 free
    ts=np.linspace(0,1,N+1) if grid is None else grid(N)
    xi=(z@Q)/s(0.0)  # s(0)=1
    hist=[]  # (t, f)
    for i in range(N):
        a,b=ts[i],ts[i+1]
        fa=np.zeros_like(xi) if i==0 else f(xi,a)
        hist.append((a,fa)); hist=hist[-order:]
        # Adams-Bashforth with exact Lagrange integration over [a,b] of the poly through hist
        tn=[p[0] for p in hist]; m=len(tn)
        # integrate Lagrange basis exactly via Gauss-Legendre
        gx,gw=np.polynomial.legendre.leggauss(4); sx=(b-a)/2*gx+(a+b)/2; sw=(b-a)/2*gw
        inc=np.zeros_like(xi)
        for j in range(m):
            Lj=np.ones_like(sx)
            for l in range(m):
                if l!=j: Lj*=(sx-tn[l])/(tn[j]-tn[l])
            inc+= (sw*Lj).sum()*hist[j][1]
        xi=xi+inc
    return 1.0*mu+(xi*s(1.0))@Q.T
def euler(N):
    x=z.copy(); ts=np.linspace(0,1,N+1)
    for i in range(N):
        a,b=ts[i],ts[i+1]; x=x+(b-a)*u(x,a)
    return x
print(sys.argv[1])
for B in (5,6,8,10):
    peers={'euler':err(euler(B)),'mid':err(midpoint(B//2))}
    if B>=4: peers['rk4']=err(rk4(B//4))
    best=min(peers.values())
    gps={o:err(gp(B,o)) for o in (1,2,3)}
    print('B=%2d best peer %.3g (%s)  '%(B,best,min(peers,key=peers.get))+'  '.join('gp%d %.3g (%.2fx)'%(o,e,e/best) for o,e in gps.items()))
