// benches/v1_join_probe.c: what joining the v1 hierarchies costs (cgroup v1 or hybrid host,
// root). Per round: the parent writes the pid of a fresh child to `cgroup.procs` of a
// new cgroup in each hierarchy, against the child writing "0" to each `tasks` file
// through fds the parent opened. Build: cc -O2 -o probe benches/v1_join_probe.c;
// run: ./probe [ROUNDS]. Leaves nothing behind (cgroups under v1probe/ are removed).
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <time.h>
#include <sys/stat.h>
#include <sys/wait.h>
static const char *H[] = {"cpu","cpuacct","cpuset","memory","devices","freezer","blkio","pids","systemd"};
#define NH 9
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec*1e3+t.tv_nsec/1e6;}
static void wr(const char*p,const char*v){int fd=open(p,O_WRONLY);if(fd<0){perror(p);exit(1);}if(write(fd,v,strlen(v))<0){perror(p);exit(1);}close(fd);}
static void cp(const char*from,const char*to){char b[256];int fd=open(from,O_RDONLY);int n=read(fd,b,sizeof b);close(fd);if(n>0)wr(to,(b[n]=0,b));}
static void mk(const char*h,const char*rel){char p[512];snprintf(p,sizeof p,"/sys/fs/cgroup/%s/%s",h,rel);mkdir(p,0755);
 if(!strcmp(h,"cpuset")){char q[600];snprintf(q,sizeof q,"%s/cpuset.cpus",p);cp("/sys/fs/cgroup/cpuset/cpuset.cpus",q);snprintf(q,sizeof q,"%s/cpuset.mems",p);cp("/sys/fs/cgroup/cpuset/cpuset.mems",q);}}
static int cmp(const void*a,const void*b){double x=*(double*)a,y=*(double*)b;return x<y?-1:x>y;}
int main(int argc,char**argv){
 int n=argc>1?atoi(argv[1]):60; double *A=calloc(n,8),*B=calloc(n,8);
 for(int h=0;h<NH;h++) mk(H[h],"v1probe");
 for(int i=0;i<n;i++){
  for(int mode=0;mode<2;mode++){
   char rel[64];snprintf(rel,sizeof rel,"v1probe/%c%d",mode?'b':'a',i);
   int fds[NH];
   for(int h=0;h<NH;h++){mk(H[h],rel); char p[512];snprintf(p,sizeof p,"/sys/fs/cgroup/%s/%s/tasks",H[h],rel);fds[h]=open(p,O_WRONLY|O_CLOEXEC);}
   int go[2],res[2];pipe(go);pipe(res);
   pid_t pid=fork();
   if(pid==0){char c;read(go[0],&c,1);
     if(mode==1){double t0=now();for(int h=0;h<NH;h++) if(write(fds[h],"0",1)!=1)_exit(2);double d=now()-t0;write(res[1],&d,8);}
     read(go[0],&c,1);_exit(0);}
   if(mode==0){double t0=now();char v[32];snprintf(v,sizeof v,"%d",pid);
     for(int h=0;h<NH;h++){char p[512];snprintf(p,sizeof p,"/sys/fs/cgroup/%s/%s/cgroup.procs",H[h],rel);wr(p,v);}A[i]=now()-t0;write(go[1],"x",1);}
   else {write(go[1],"x",1);double d;read(res[0],&d,8);B[i]=d;}
   // verify membership
   char p[64],buf[4096];snprintf(p,sizeof p,"/proc/%d/cgroup",pid);int fd=open(p,O_RDONLY);int r=read(fd,buf,sizeof buf-1);close(fd);buf[r>0?r:0]=0;
   int cnt=0;for(char*s=buf;(s=strstr(s,rel));s++)cnt++; if(cnt!=NH){fprintf(stderr,"mode %d: joined %d of %d:\n%s",mode,cnt,NH,buf);}
   write(go[1],"x",1);waitpid(pid,0,0);
   for(int h=0;h<NH;h++){close(fds[h]);char q[512];snprintf(q,sizeof q,"/sys/fs/cgroup/%s/%s",H[h],rel);rmdir(q);}
   close(go[0]);close(go[1]);close(res[0]);close(res[1]);
   usleep(30000);
  }
 }
 for(int h=0;h<NH;h++){char q[512];snprintf(q,sizeof q,"/sys/fs/cgroup/%s/v1probe",H[h]);rmdir(q);}
 qsort(A,n,8,cmp);qsort(B,n,8,cmp);
 printf("%d hierarchies, %d rounds\nparent cgroup.procs write: median %.3f ms  p10 %.3f  p90 %.3f  min %.3f\nchild tasks \"0\" write:     median %.3f ms  p10 %.3f  p90 %.3f  min %.3f\n",NH,n,A[n/2],A[n/10],A[n*9/10],A[0],B[n/2],B[n/10],B[n*9/10],B[0]);
}
