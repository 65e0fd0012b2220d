import { CommandRegistry, parseCommand } from './commands';

const reg = () =>
  new CommandRegistry().add(
    { name: 'help', usage: '!help', summary: 'lists the commands', run: () => {} },
    { name: 'ongoing', usage: '!ongoing', summary: 'open incidents', run: () => {} },
    { name: 'ack', usage: '!ack [note]', summary: 'acknowledge', run: () => {} },
    { name: 'handover', usage: '!handover @**Name**', summary: 'hand over', run: () => {} },
  );

describe('parseCommand', () => {
  test.each([
    ['!ongoing', 'ongoing', ''],
    ['  !ACK  looking into it ', 'ack', 'looking into it'],
    ['!handover @**Ann Smith**', 'handover', '@**Ann Smith**'],
    ['!ack\nmulti\nline', 'ack', 'multi\nline'],
  ])('%j', (text, name, args) => expect(parseCommand(text)).toEqual({ name, args }));

  test.each(['', 'ongoing', '! ongoing', '!!', '!1abc', 'hello !ongoing', '!ongoing,', '!' + 'a'.repeat(40)])('%j is no command', (text) =>
    expect(parseCommand(text)).toBeUndefined(),
  );
});

describe('CommandRegistry', () => {
  test('help lists every command from the registry', () => {
    const text = reg().helpText();
    for (const u of ['`!help`', '`!ongoing`', '`!ack [note]`', '`!handover @**Name**`']) expect(text).toContain(u);
  });
  test('unknown commands get "did you mean"', () => {
    expect(reg().unknownText('ongong')).toBe('Unknown command `!ongoing`.'.replace('ongoing', 'ongong') + ' Did you mean `!ongoing`? Type `!help` for the list.');
    expect(reg().unknownText('hand')).toContain('`!handover`');
    expect(reg().unknownText('zzzzzz')).toBe('Unknown command `!zzzzzz`. Type `!help` for the list.');
  });
  test('a command declared twice is a programming error', () => {
    expect(() => reg().add({ name: 'ack', usage: '', summary: '', run: () => {} })).toThrow(/declared twice/);
  });
});
