//! Passing one fd over a unix socket (SCM_RIGHTS), allocation-free: the control
//! buffer is a fixed array on the stack, so the container's child can send too.

use super::{Errno, SysResult};

/// Room for one `cmsghdr` carrying one fd, aligned for `cmsghdr`.
#[repr(C)]
union CmsgBuf {
    _align: libc::cmsghdr,
    buf: [u8; 64],
}

fn space_one_fd() -> usize {
    // SAFETY: CMSG_SPACE is a pure computation.
    unsafe { libc::CMSG_SPACE(std::mem::size_of::<libc::c_int>() as u32) as usize }
}

/// Send `data` (non-empty) with `fd` attached; returns the bytes sent (a stream
/// socket may take fewer: send the rest with [`super::fs::write_all`]).
pub fn send_with_fd(sock: libc::c_int, data: &[u8], fd: libc::c_int) -> SysResult<usize> {
    let mut cbuf = CmsgBuf { buf: [0u8; 64] };
    let space = space_one_fd();
    let mut iov = libc::iovec {
        iov_base: data.as_ptr() as *mut libc::c_void,
        iov_len: data.len(),
    };
    // SAFETY: msghdr is plain data; all-zero is a valid empty header.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    // SAFETY: the union's byte view is always initialised (written above).
    msg.msg_control = unsafe { cbuf.buf.as_mut_ptr() } as *mut libc::c_void;
    msg.msg_controllen = space as _;
    // SAFETY: msg_control points at `space` (<= 64) writable, aligned bytes, so the
    // first header exists; CMSG_DATA of it has room for one c_int.
    unsafe {
        let c = libc::CMSG_FIRSTHDR(&msg);
        (*c).cmsg_level = libc::SOL_SOCKET;
        (*c).cmsg_type = libc::SCM_RIGHTS;
        (*c).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<libc::c_int>() as u32) as _;
        std::ptr::write_unaligned(libc::CMSG_DATA(c) as *mut libc::c_int, fd);
    }
    super::retry(|| {
        // SAFETY: `msg` and everything it points to live across the call.
        let n = unsafe { libc::sendmsg(sock, &msg, libc::MSG_NOSIGNAL) };
        if n < 0 {
            Err(Errno::last())
        } else {
            Ok(n as usize)
        }
    })
}

/// Receive into `buf`, accepting at most one fd (close-on-exec). Returns the bytes
/// read (0 at EOF) and the fd if one came; extra fds are closed.
pub fn recv_with_fd(
    sock: libc::c_int,
    buf: &mut [u8],
) -> SysResult<(usize, Option<std::os::fd::OwnedFd>)> {
    let mut cbuf = CmsgBuf { buf: [0u8; 64] };
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr() as *mut libc::c_void,
        iov_len: buf.len(),
    };
    // SAFETY: msghdr is plain data; all-zero is a valid empty header.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    // SAFETY: the union's byte view is always initialised (written above).
    msg.msg_control = unsafe { cbuf.buf.as_mut_ptr() } as *mut libc::c_void;
    msg.msg_controllen = 64;
    let n = super::retry(|| {
        // SAFETY: `msg` points at live buffers of the stated sizes.
        let n = unsafe { libc::recvmsg(sock, &mut msg, libc::MSG_CMSG_CLOEXEC) };
        if n < 0 {
            Err(Errno::last())
        } else {
            Ok(n as usize)
        }
    })?;
    let mut got = None;
    // SAFETY: walking the control messages the kernel wrote into `cbuf`, within
    // msg_controllen, with the CMSG_* helpers.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_RIGHTS {
                let data = libc::CMSG_DATA(c) as *const libc::c_int;
                let header = libc::CMSG_LEN(0) as usize;
                let count = ((*c).cmsg_len as usize).saturating_sub(header)
                    / std::mem::size_of::<libc::c_int>();
                for i in 0..count {
                    let fd = std::ptr::read_unaligned(data.add(i));
                    if got.is_none() {
                        got = Some(fd);
                    } else {
                        libc::close(fd);
                    }
                }
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    // SAFETY: SCM_RIGHTS installed this fd in our table for us alone.
    let got = got.map(|fd| unsafe { super::fd::adopt(fd) });
    if msg.msg_flags & libc::MSG_CTRUNC != 0 {
        return Err(Errno(libc::EPROTO));
    }
    Ok((n, got))
}

/// Send all of `buf` on a connected socket (`MSG_NOSIGNAL`: a peer that is gone is
/// an EPIPE error, never a SIGPIPE that would kill a library's host).
pub fn send_all(sock: libc::c_int, mut buf: &[u8]) -> SysResult<()> {
    while !buf.is_empty() {
        let n = super::retry(|| {
            // SAFETY: `buf` is valid for its length for the call.
            let n = unsafe {
                libc::send(
                    sock,
                    buf.as_ptr() as *const libc::c_void,
                    buf.len(),
                    libc::MSG_NOSIGNAL,
                )
            };
            if n < 0 {
                Err(Errno::last())
            } else {
                Ok(n as usize)
            }
        })?;
        if n == 0 {
            return Err(Errno(libc::EIO));
        }
        buf = &buf[n..];
    }
    Ok(())
}

/// Bring the network interface `lo` of the current network namespace up
/// (SIOCGIFFLAGS, then SIOCSIFFLAGS with IFF_UP), as runc does in a new one.
pub fn loopback_up() -> SysResult<()> {
    // SAFETY: socket(2) with constant arguments; the fd is closed below.
    let fd = super::cvt(unsafe {
        libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0)
    })?;
    // SAFETY: ifreq is plain data; all-zero is valid.
    let mut ifr: libc::ifreq = unsafe { std::mem::zeroed() };
    for (d, s) in ifr.ifr_name.iter_mut().zip(b"lo\0") {
        *d = *s as libc::c_char;
    }
    // SAFETY: SIOCGIFFLAGS/SIOCSIFFLAGS read and write the ifreq we own.
    let r = unsafe {
        let mut r = libc::ioctl(fd, libc::SIOCGIFFLAGS as _, &mut ifr);
        if r == 0 {
            ifr.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
            r = libc::ioctl(fd, libc::SIOCSIFFLAGS as _, &ifr);
        }
        r
    };
    let result = super::cvt(r).map(drop);
    super::fs::close(fd);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fd_round_trips_over_a_socketpair() {
        use std::os::fd::AsRawFd;
        let (a, b) =
            super::super::fd::socketpair(libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC).unwrap();
        let f = std::fs::File::open("/proc/self/exe").unwrap();
        assert_eq!(
            send_with_fd(a.as_raw_fd(), b"hi", f.as_raw_fd()).unwrap(),
            2
        );
        let mut buf = [0u8; 8];
        let (n, fd) = recv_with_fd(b.as_raw_fd(), &mut buf).unwrap();
        assert_eq!(&buf[..n], b"hi");
        let fd = fd.expect("an fd");
        assert_ne!(fd.as_raw_fd(), f.as_raw_fd());
        let x = super::super::fs::fstat(fd.as_raw_fd()).unwrap();
        let y = super::super::fs::fstat(f.as_raw_fd()).unwrap();
        assert_eq!((x.st_dev, x.st_ino), (y.st_dev, y.st_ino));
    }
}
