//! One DNS request in, one response out: decoding, the index lookup and
//! encoding with truncation for UDP. Pure: forwarding is left to the caller.

use hickory_proto::op::{Edns, Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::DNSClass;

use crate::index::{Index, Lookup};

/// The UDP payload we advertise and accept in EDNS.
const EDNS_PAYLOAD: u16 = 1232;
/// The classic UDP limit without EDNS.
const PLAIN_UDP: usize = 512;

/// What to do with a request.
#[derive(Debug)]
pub(crate) enum Handled {
    /// Send these bytes back.
    Reply(Vec<u8>),
    /// Not ours: forward the request upstream.
    Forward(Box<Message>),
    /// Not a DNS query (or a response): ignore it.
    Drop,
}

/// How the request arrived, for the response size limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Transport {
    Udp,
    Tcp,
}

/// Answers `request` from `index`, or says it must be forwarded.
pub(crate) fn handle(index: &Index, request: &[u8], transport: Transport) -> Handled {
    let message = match Message::from_vec(request) {
        Ok(m) => m,
        Err(_) => return malformed(request),
    };
    if message.metadata.message_type != MessageType::Query {
        return Handled::Drop;
    }
    if message.metadata.op_code != OpCode::Query {
        return Handled::Reply(error(&message, ResponseCode::NotImp, transport));
    }
    let [query] = message.queries.as_slice() else {
        return Handled::Reply(error(&message, ResponseCode::FormErr, transport));
    };
    if !matches!(query.query_class(), DNSClass::IN | DNSClass::ANY) {
        return Handled::Forward(Box::new(message));
    }
    match index.lookup(query.name(), query.query_type()) {
        Lookup::Forward => Handled::Forward(Box::new(message)),
        lookup => Handled::Reply(respond(index, &message, lookup, transport)),
    }
}

/// FORMERR for a request whose header parses, nothing otherwise.
fn malformed(request: &[u8]) -> Handled {
    if request.len() < 12 || request[2] & 0x80 != 0 {
        return Handled::Drop;
    }
    let id = u16::from_be_bytes([request[0], request[1]]);
    let message = Message::error_msg(id, OpCode::Query, ResponseCode::FormErr);
    message.to_vec().map_or(Handled::Drop, Handled::Reply)
}

/// A response to `request` carrying only `code`.
pub(crate) fn error(request: &Message, code: ResponseCode, transport: Transport) -> Vec<u8> {
    let mut response = reply_to(request);
    response.metadata.response_code = code;
    encode(&response, request, transport)
}

fn reply_to(request: &Message) -> Message {
    let mut response = Message::response(request.metadata.id, request.metadata.op_code);
    response.metadata = hickory_proto::op::Metadata::response_from_request(&request.metadata);
    response.metadata.recursion_available = true;
    response.add_queries(request.queries.iter().cloned());
    if request.edns.is_some() {
        let mut edns = Edns::new();
        edns.set_max_payload(EDNS_PAYLOAD);
        response.set_edns(edns);
    }
    response
}

fn respond(index: &Index, request: &Message, lookup: Lookup, transport: Transport) -> Vec<u8> {
    let mut response = reply_to(request);
    response.metadata.authoritative = true;
    let negative = |response: &mut Message, code| {
        response.metadata.response_code = code;
        response.add_authority(index.soa());
    };
    match lookup {
        Lookup::Answer {
            answers,
            additionals,
        } => {
            response.insert_answers(answers);
            response.insert_additionals(additionals);
        }
        Lookup::NoData => negative(&mut response, ResponseCode::NoError),
        Lookup::NxDomain => negative(&mut response, ResponseCode::NXDomain),
        Lookup::NotReady | Lookup::Forward => {
            response.metadata.authoritative = false;
            response.metadata.response_code = ResponseCode::ServFail;
        }
    }
    encode(&response, request, transport)
}

/// The response's bytes; over UDP, truncated (TC, question only) when larger
/// than the client accepts.
pub(crate) fn encode(response: &Message, request: &Message, transport: Transport) -> Vec<u8> {
    let bytes = match response.to_vec() {
        Ok(b) => b,
        Err(e) => {
            tracing::warn!(error = %e, "encoding a DNS response");
            let mut failed = reply_to(request);
            failed.metadata.response_code = ResponseCode::ServFail;
            return failed.to_vec().unwrap_or_default();
        }
    };
    if transport == Transport::Udp && bytes.len() > udp_limit(request) {
        return response.truncate().to_vec().unwrap_or_default();
    }
    bytes
}

/// Upstream bytes for `request`, truncated to the client's UDP limit.
pub(crate) fn relay(upstream: Vec<u8>, request: &Message, transport: Transport) -> Vec<u8> {
    if transport == Transport::Tcp || upstream.len() <= udp_limit(request) {
        return upstream;
    }
    match Message::from_vec(&upstream) {
        Ok(message) => message.truncate().to_vec().unwrap_or_default(),
        Err(_) => error(request, ResponseCode::ServFail, transport),
    }
}

fn udp_limit(request: &Message) -> usize {
    request.edns.as_ref().map_or(PLAIN_UDP, |e| {
        usize::from(e.max_payload().min(EDNS_PAYLOAD)).max(PLAIN_UDP)
    })
}
