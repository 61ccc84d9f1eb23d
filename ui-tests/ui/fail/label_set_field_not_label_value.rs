use telltale::LabelSet;

struct Peer {
    addr: std::net::SocketAddr,
}

#[derive(LabelSet)]
struct Connection {
    secure: bool,
    peer: Peer,
}

fn main() {
    let _ = Connection {
        secure: true,
        peer: Peer {
            addr: ([127, 0, 0, 1], 80).into(),
        },
    }
    .peer
    .addr;
}
