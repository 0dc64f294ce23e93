// The Bun ceiling: the same bare responder as bare_responder.mjs on Bun's
// native UDP socket (Bun.udpSocket), which Consulate's DNS uses under Bun.
const port = Number(process.argv[2] ?? 5304);
const answer = Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 10, 0, 0, 1]);
await Bun.udpSocket({
  hostname: "127.0.0.1",
  port,
  socket: {
    data(sock, q, rport, raddr) {
      let end = 12;
      while (end < q.length && q[end] !== 0) end += q[end] + 1;
      end += 5;
      if (end > q.length) return;
      const out = Buffer.allocUnsafe(end + answer.length);
      q.copy(out, 0, 0, end);
      out[2] = 0x84 | (q[2] & 1);
      out[3] = 0;
      out.writeUInt32BE(0x00010000, 6);
      out.writeUInt16BE(0, 10);
      answer.copy(out, end);
      sock.send(out, rport, raddr);
    },
  },
});
