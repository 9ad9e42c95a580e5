#!/usr/bin/env python3
# A slixmpp client (Debian's python3-slixmpp, its own XEP-0198 plugin: xep_0198) driven over
# JSON lines, for the rolling-restart and kill -9 tests (test/support/slix-client.ts spawns it).
#
#   slix-client.py --jid load3@localhost/r3 --password secret --host 127.0.0.1 --port 5222
#
# stdin, one JSON object a line:
#   {"cmd": "presence"}                          initial presence
#   {"cmd": "send", "to": JID, "id": ID}         a chat message with that id
#   {"cmd": "ping", "id": ID}                    an XEP-0199 ping to the domain; answered by "pong"
#   {"cmd": "close"}                             ends the session cleanly and exits
# stdout, one JSON object a line ("ev" names it):
#   bound {jid}, enabled {smId}, resumed {h}, failed {xml}, disconnected {}, relogin {jid}
#   msg {id, from, delay}, unavailable {from}, available {from}, pong {id}, error {text}
#   written {id}          the message went out on a stream with stream management on
#   acked {ids, h}        the server's h (in <a/> or <resumed/>) newly covers these messages
#   unhandled {ids, h}    <resumed h/> shows the server never handled these messages written on
#                         the previous connection; "resent" follows if slixmpp wrote them again
#
# The acks are tracked here, beside the plugin, from the wire: every stanza written after
# <enable/> (or after <resume/>, numbered on from the h of <resumed/>) is the server's next
# count, so an h names exactly which messages the server has. slixmpp's own bookkeeping
# (unacked_queue, 'stanza_acked') is not used for that, since it is what is being checked.
import argparse
import asyncio
import json
import logging
import re
import ssl
import sys
import threading

import slixmpp
from slixmpp.plugins.xep_0198 import stanza as sm
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

ID_ATTR = re.compile(r"""\sid=(?:'([^']*)'|"([^"]*)")""")


def emit(event, **fields):
    fields['ev'] = event
    sys.stdout.write(json.dumps(fields) + '\n')
    sys.stdout.flush()


class Tracker:
    """The server's numbering of what this client wrote (XEP-0198 §4: h counts handled stanzas)."""

    def __init__(self):
        self.written = []  # ids (None for a stanza that is not a test message), index = server count
        self.acked = 0
        self.counting = False
        self.limbo_from = None  # on <resume/>: written[limbo_from:] may not have reached the server
        self.resent_watch = set()

    def on_write(self, data):
        text = data.decode('utf-8', 'replace') if isinstance(data, bytes) else data
        stripped = text.lstrip()
        if stripped.startswith('<enable'):
            self.written, self.acked, self.counting = [], 0, True
            return
        if stripped.startswith('<resume'):
            self.limbo_from = len(self.written)
            self.counting = True
            return
        if not self.counting:
            return
        for name in ('message', 'presence', 'iq'):
            if stripped.startswith('<' + name) and (len(stripped) > len(name) + 1 and stripped[len(name) + 1] in ' >/'):
                match = ID_ATTR.search(stripped.split('>', 1)[0])
                ident = (match.group(1) or match.group(2)) if match else None
                is_message = name == 'message' and 'type="error"' not in stripped and "type='error'" not in stripped
                self.written.append(ident if is_message else None)
                if is_message and ident is not None:
                    if ident in self.resent_watch:
                        self.resent_watch.discard(ident)
                        emit('resent', id=ident)
                    emit('written', id=ident)
                return

    def on_ack(self, h, resumed=False):
        if resumed:
            # Written on the old connection and not handled: the client must send them again.
            lost = [i for i in self.written[h:] if i is not None]
            if len(self.written) > h:
                self.written = self.written[:h]
            if lost:
                self.resent_watch.update(lost)
                emit('unhandled', ids=lost, h=h)
        if h > len(self.written):
            emit('error', text='server acknowledged %d of %d stanzas written' % (h, len(self.written)))
            h = len(self.written)
        if h > self.acked:
            ids = [i for i in self.written[self.acked:h] if i is not None]
            self.acked = h
            if ids:
                emit('acked', ids=ids, h=h)


class Client(slixmpp.ClientXMPP):
    def __init__(self, args):
        super().__init__(args.jid, args.password)
        self.args = args
        self.closing = False
        self.binds = 0
        self.tracker = Tracker()
        self.register_plugin('xep_0030')
        self.register_plugin('xep_0199')
        self.register_plugin('xep_0198')
        self['xep_0198'].allow_resume = True
        # The cluster's certificate is self-signed.
        self.ssl_context.check_hostname = False
        self.ssl_context.verify_mode = ssl.CERT_NONE
        self.add_event_handler('session_bind', self.on_bind)
        self.add_event_handler('sm_enabled', lambda st: emit('enabled', smId=st['id']))
        self.add_event_handler('session_resumed', self.on_resumed)
        self.add_event_handler('sm_failed', lambda st: emit('failed', xml=str(st)))
        self.add_event_handler('disconnected', self.on_disconnected)
        self.add_event_handler('message', self.on_message)
        self.add_event_handler('presence', self.on_presence)
        self.add_event_handler('roster_update', lambda _: None)
        self.register_handler(Callback('tracker ack', MatchXPath(sm.Ack.tag_name()), lambda st: self.tracker.on_ack(int(st['h']))))
        self.register_handler(Callback('tracker resumed', MatchXPath(sm.Resumed.tag_name()), lambda st: self.tracker.on_ack(int(st['h']), resumed=True)))
        send_raw = self.send_raw

        def traced(data):
            send_raw(data)  # raises when there is no connection: then nothing was written
            self.tracker.on_write(data)

        self.send_raw = traced

    def on_bind(self, jid):
        self.binds += 1
        emit('bound' if self.binds == 1 else 'relogin', jid=str(jid))

    def on_resumed(self, st):
        emit('resumed', h=int(st['h']))

    def on_disconnected(self, _reason):
        emit('disconnected')
        if not self.closing:
            asyncio.get_event_loop().call_later(0.05, lambda: self.connect((self.args.host, self.args.port)))

    def on_message(self, msg):
        if msg['type'] == 'error':
            emit('bounce', id=msg['id'], xml=str(msg))
            return
        if msg['type'] in ('chat', 'normal'):
            emit('msg', id=msg['id'], **{'from': str(msg['from'])}, delay=bool(msg.xml.find('{urn:xmpp:delay}delay') is not None))

    def on_presence(self, pres):
        if pres['type'] == 'unavailable':
            emit('unavailable', **{'from': str(pres['from'])})
        elif pres['type'] == 'available' or pres['type'] in ('', 'chat', 'away', 'xa', 'dnd'):
            emit('available', **{'from': str(pres['from'])})

    async def ping(self, ident):
        try:
            await self['xep_0199'].send_ping(self.boundjid.domain, timeout=15)
            emit('pong', id=ident)
        except Exception as error:  # noqa: BLE001 - reported, the test decides
            emit('pong', id=ident, error=str(error))

    def command(self, line):
        request = json.loads(line)
        cmd = request.get('cmd')
        if cmd == 'presence':
            self.send_presence()
        elif cmd == 'send':
            message = self.make_message(mto=request['to'], mbody='message %s' % request['id'], mtype='chat')
            message['id'] = request['id']
            message.send()
        elif cmd == 'ping':
            asyncio.ensure_future(self.ping(request['id']))
        elif cmd == 'close':
            self.closing = True
            self.disconnect()
        else:
            emit('error', text='unknown command %r' % (cmd,))


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--jid', required=True)
    parser.add_argument('--password', required=True)
    parser.add_argument('--host', default='127.0.0.1')
    parser.add_argument('--port', type=int, required=True)
    parser.add_argument('--debug', action='store_true')
    args = parser.parse_args()
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.ERROR, stream=sys.stderr)
    client = Client(args)
    done = asyncio.get_event_loop().create_future()

    loop = asyncio.get_event_loop()

    def on_line(line):
        if line is None:
            client.closing = True
            client.disconnect()
            if not done.done():
                done.set_result(None)
            return
        line = line.strip()
        if not line:
            return
        try:
            client.command(line)
            if json.loads(line).get('cmd') == 'close' and not done.done():
                loop.call_later(2, lambda: done.done() or done.set_result(None))
        except Exception as error:  # noqa: BLE001
            emit('error', text='%s: %s' % (type(error).__name__, error))

    def read_stdin():
        # A thread: buffered stdin and an event-loop reader do not mix.
        for line in sys.stdin:
            loop.call_soon_threadsafe(on_line, line)
        loop.call_soon_threadsafe(on_line, None)

    threading.Thread(target=read_stdin, daemon=True).start()
    client.add_event_handler('session_end', lambda _: None)
    client.connect((args.host, args.port))
    await done


if __name__ == '__main__':
    asyncio.run(main())
