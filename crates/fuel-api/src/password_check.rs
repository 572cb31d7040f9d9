//! Password checks: argon2 on two threads of their own, each reusing one
//! memory block for every check it makes.
//!
//! argon2 needs m_cost KiB of working memory per check (19 MiB with the
//! default parameters). Run on tokio's blocking pool, every check allocated
//! and freed that much on whichever pool thread it landed: glibc gives each
//! thread its own arena, freed 19 MiB blocks fall under its grown mmap
//! threshold and stay in the arena, and the pool grows to hundreds of
//! threads under a login flood. 200 bad logins at once took fuel-api to
//! 478 MiB peak and left 387 MiB held when idle, although only two checks
//! ever ran at once. Here the two verifier threads allocate their block once
//! (lazily, at its first check; grown only for a hash with a larger m_cost)
//! and nothing else allocates per check, so the memory is bounded by
//! 2 × m_cost whatever the load. Checks wait in a short queue; when it is
//! full the caller is told to come back ([`CheckError::Busy`]). A user's
//! check from an address that logged in as them before has a lane of its
//! own, taken first.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex};

use argon2::password_hash::{Output, PasswordHash};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tokio::sync::oneshot;

/// Threads checking passwords; each holds one argon2 memory block.
const THREADS: usize = 2;
/// Checks waiting for a thread, per lane; more are refused as busy. Login
/// is public, so this is what a flood from many addresses meets.
const QUEUE: usize = 8;

/// Why a check did not run.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("every password check slot is taken")]
    Busy,
    #[error("the password check threads stopped")]
    Stopped,
}

struct Job {
    hash: Arc<str>,
    password: String,
    answer: oneshot::Sender<bool>,
}

/// Checks waiting: those of a user from an address that logged in as them
/// before go first, so the operator's login is not queued behind a flood.
#[derive(Default)]
struct Lanes {
    known: VecDeque<Job>,
    others: VecDeque<Job>,
    closed: bool,
}

#[derive(Default)]
struct Queue {
    lanes: Mutex<Lanes>,
    ready: Condvar,
}

/// The verifier threads and their queue; dropping it ends the threads.
pub struct PasswordChecks {
    queue: Arc<Queue>,
}

impl PasswordChecks {
    pub fn start() -> PasswordChecks {
        let queue = Arc::new(Queue::default());
        for n in 0..THREADS {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("password-check-{n}"))
                .spawn(move || work(&queue))
                .expect("starting a password check thread");
        }
        PasswordChecks { queue }
    }

    /// Whether `password` matches the PHC string `hash` (false for a hash
    /// that does not parse). `known`: the address logged in as this user
    /// before, so the check goes ahead of the others.
    pub async fn matches(
        &self,
        hash: Arc<str>,
        password: &str,
        known: bool,
    ) -> Result<bool, CheckError> {
        let (answer, answered) = oneshot::channel();
        let job = Job {
            hash,
            password: password.to_string(),
            answer,
        };
        {
            let mut lanes = self.queue.lanes.lock().unwrap_or_else(|p| p.into_inner());
            let lane = if known {
                &mut lanes.known
            } else {
                &mut lanes.others
            };
            if lane.len() >= QUEUE {
                return Err(CheckError::Busy);
            }
            lane.push_back(job);
        }
        self.queue.ready.notify_one();
        answered.await.map_err(|_| CheckError::Stopped)
    }
}

impl Drop for PasswordChecks {
    fn drop(&mut self) {
        self.queue
            .lanes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .closed = true;
        self.queue.ready.notify_all();
    }
}

/// One verifier thread: takes jobs, known lane first, until closed.
fn work(queue: &Queue) {
    let mut blocks: Vec<Block> = Vec::new();
    loop {
        let job = {
            let mut lanes = queue.lanes.lock().unwrap_or_else(|p| p.into_inner());
            loop {
                if lanes.closed {
                    return;
                }
                if let Some(job) = lanes.known.pop_front().or_else(|| lanes.others.pop_front()) {
                    break job;
                }
                lanes = queue.ready.wait(lanes).unwrap_or_else(|p| p.into_inner());
            }
        };
        let matches = verify(&mut blocks, &job.hash, job.password.as_bytes());
        // The caller may have gone (its client disconnected).
        let _ = job.answer.send(matches);
    }
}

/// argon2's own verification, with the thread's memory block.
fn verify(blocks: &mut Vec<Block>, hash: &str, password: &[u8]) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from).transpose() {
        Ok(version) => version.unwrap_or_default(),
        Err(_) => return false,
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return false;
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let needed = params.block_count();
    if blocks.len() < needed {
        blocks.resize(needed, Block::default());
    }
    let argon2 = Argon2::new(algorithm, version, params);
    let computed = Output::init_with(expected.len(), |out| {
        argon2
            .hash_password_into_with_memory(password, salt, out, &mut blocks[..needed])
            .map_err(|_| argon2::password_hash::Error::Password)
    });
    // Output's equality is constant-time.
    computed.is_ok_and(|computed| computed == expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reused_block_verifies_as_argon2_does() {
        let hash = crate::auth::hash_password("right");
        let mut blocks = Vec::new();
        assert!(verify(&mut blocks, &hash, b"right"));
        assert!(!verify(&mut blocks, &hash, b"wrong"));
        assert!(verify(&mut blocks, &hash, b"right"), "the block is reused");
        assert_eq!(blocks.len(), Params::default().block_count());
        assert!(!verify(&mut blocks, "not a hash", b"right"));
    }
}
