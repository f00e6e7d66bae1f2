using System.Text;
using SparkControl.Core.Audio.LabelMerge;
using SparkControl.Core.Audio.Scrub;
using static SparkControl.Tests.Audio.LabelMergerTests;

namespace SparkControl.Tests.Audio.Scrub;

/// <summary>The PII scrubber: the case table, consistency within a text and a transcript, transcripts, Unicode and hostile input.</summary>
public sealed class PiiScrubberTests
{
    private static readonly PiiScrubber Table = new(PiiScrubberCaseTable.Names);

    public static TheoryData<string, PiiKind, string> Positives => PiiScrubberCaseTable.Positives;

    public static TheoryData<string> Negatives => PiiScrubberCaseTable.Negatives;

    [Theory]
    [MemberData(nameof(Positives))]
    public void Scrub_PositiveCase_RedactedAsExpected(string input, PiiKind kind, string expected)
    {
        var result = Table.Scrub(input);

        Assert.Equal(expected, result.Text);
        Assert.Equal([kind], result.Counts.Keys);
        Assert.Equal(result.Matches.Length, result.Counts[kind]);
    }

    [Theory]
    [MemberData(nameof(Negatives))]
    public void Scrub_NegativeCase_Unchanged(string input)
    {
        var result = Table.Scrub(input);

        Assert.Equal(input, result.Text);
        Assert.Empty(result.Counts);
        Assert.Empty(result.Matches);
    }

    [Fact]
    public void CaseTable_HasAtLeastAHundredOfEach_AndEveryKind()
    {
        var positives = Rows(PiiScrubberCaseTable.Positives).Select(row => ((string)row[0], (PiiKind)row[1])).ToList();
        var negatives = Rows(PiiScrubberCaseTable.Negatives).Select(row => (string)row[0]).ToList();

        Assert.True(positives.Count >= 100, $"{positives.Count} positive cases");
        Assert.True(negatives.Count >= 100, $"{negatives.Count} negative cases");
        Assert.All(PiiKinds.All, kind => Assert.True(positives.Count(p => p.Item2 == kind) >= 15, $"{kind}: fewer than 15 cases"));
        Assert.Equal(positives.Count, positives.Select(p => p.Item1).Distinct().Count());
        Assert.Equal(negatives.Count, negatives.Distinct().Count());
    }

    [Fact]
    public void Kinds_KeysAndPlaceholders_AreTheApiSpelling()
    {
        Assert.Equal(["EMAIL", "PHONE", "CARD", "IBAN", "NAME"], PiiKinds.All.Select(PiiKinds.Key));
        Assert.Equal(["[EMAIL]", "[PHONE]", "[CARD]", "[IBAN]", "[NAME]"], PiiKinds.All.Select(PiiKinds.Placeholder));
        Assert.True(PiiKinds.TryParseKey("IBAN", out var iban));
        Assert.Equal(PiiKind.Iban, iban);
        Assert.False(PiiKinds.TryParseKey("iban", out _));
    }

    [Fact]
    public void Scrub_Matches_PointIntoTheOriginalText()
    {
        const string text = "Mail anna.s@example.com or call +44 20 7946 0958, Bob.";

        var result = Table.Scrub(text);

        Assert.Equal("Mail [EMAIL] or call [PHONE], [NAME].", result.Text);
        Assert.Equal(
            [(PiiKind.Email, "anna.s@example.com"), (PiiKind.Phone, "+44 20 7946 0958"), (PiiKind.Name, "Bob")],
            result.Matches.Select(m => (m.Kind, text.Substring(m.Start, m.Length))));
        Assert.Equal(1, result.Counts[PiiKind.Email]);
        Assert.Equal(3, result.Counts.Values.Sum());
        Assert.Equal(new Dictionary<string, int> { ["EMAIL"] = 1, ["NAME"] = 1, ["PHONE"] = 1 }, PiiKinds.ByKey(result.Counts));
    }

    [Fact]
    public void Scrub_SamePhoneTwice_BothReplaced_EvenTheUnformattedOne()
    {
        // An unformatted 10-digit number alone is no phone (it could be an id), but it is this phone's digits.
        var result = Table.Scrub("Call 415-555-0132 or text 4155550132, not 415 555 0133.");

        Assert.Equal("Call [PHONE] or text [PHONE], not [PHONE].", result.Text);
        Assert.Equal(3, result.Counts[PiiKind.Phone]);
    }

    [Fact]
    public void Scrub_SameCardInTwoGroupings_BothReplaced()
    {
        var result = Table.Scrub("4111 1111 1111 1111 then 4111-1111-1111-1111 then ref4111111111111111");

        Assert.Equal("[CARD] then [CARD] then ref[CARD]", result.Text);
        Assert.Equal(3, result.Counts[PiiKind.Card]);
    }

    [Fact]
    public void Scrub_NameAloneAfterAFullMention_Replaced()
    {
        var result = Table.Scrub("Anna Schmidt called. Later Anna said Schmidt would call back; Annabel did not.");

        Assert.Equal("[NAME] called. Later [NAME] said [NAME] would call back; Annabel did not.", result.Text);
        Assert.Equal(3, result.Counts[PiiKind.Name]);
    }

    [Fact]
    public void Scrub_NameAloneWithoutTheFullName_Kept()
    {
        Assert.Equal("Later Anna said Schmidt would call back.", Table.Scrub("Later Anna said Schmidt would call back.").Text);
    }

    [Fact]
    public void Scrub_EmailFoundOnce_AlsoReplacedWhereItLooksLikeAUrlPassword()
    {
        var result = Table.Scrub("Write to pw@host.example.com, or open https://me:pw@host.example.com/ and Pw@Host.Example.com.");

        Assert.Equal("Write to [EMAIL], or open https://me:[EMAIL]/ and [EMAIL].", result.Text);
        Assert.Equal(3, result.Counts[PiiKind.Email]);
    }

    [Fact]
    public void Scrub_OverlappingKinds_ResolveBySpecificity()
    {
        // The e-mail holds a list name and digits; the IBAN holds a phone-like run; the card is not a phone.
        var result = Table.Scrub("bob.4155550132@example.com, DE89 3704 0044 0532 0130 00, 5555 5555 5555 4444");

        Assert.Equal("[EMAIL], [IBAN], [CARD]", result.Text);
        Assert.Equal([PiiKind.Email, PiiKind.Card, PiiKind.Iban], result.Counts.Keys);
    }

    [Fact]
    public void Scrub_UnicodeNames_MatchedCaseInsensitivelyOnWordBoundaries()
    {
        var scrubber = new PiiScrubber(["Ærøskøbing Ødegård", "Иван Петров", "محمد", "Ğülşen", "李小龍"]);

        var result = scrubber.Scrub("ærøskøbing ødegård met ИВАН ПЕТРОВ, محمد and ğÜLŞEN; Ğülşenler is a word; 李小龍 too.");

        Assert.Equal("[NAME] met [NAME], [NAME] and [NAME]; Ğülşenler is a word; [NAME] too.", result.Text);
        Assert.Equal(5, result.Counts[PiiKind.Name]);
    }

    [Fact]
    public void Scrub_NoNames_OnlyPatterns()
    {
        var scrubber = new PiiScrubber(["", "   ", "\t"]);

        Assert.Equal("Bob at [EMAIL]", scrubber.Scrub("Bob at bob@example.com").Text);
    }

    [Fact]
    public void Scrub_LongestNameFirst()
    {
        var scrubber = new PiiScrubber(["Ann", "Ann Lee", "Lee"]);

        var result = scrubber.Scrub("Ann Lee, Ann Leeds and Lee.");

        Assert.Equal("[NAME], [NAME] Leeds and [NAME].", result.Text);
        Assert.Equal(3, result.Matches.Length);
        Assert.Equal(7, result.Matches[0].Length);
    }

    [Fact]
    public void Scrub_Transcript_PhoneSplitAcrossWords_FoundAndEveryWordReplaced()
    {
        var words = new[] { W(0.0, 0.3, "Call"), W(0.3, 0.6, "+44"), W(0.6, 0.9, "20"), W(0.9, 1.3, "7946"), W(1.3, 1.7, "0958"), W(1.7, 2.0, "now.") };
        var transcript = LabelMerger.Merge(words, [S(0, 3, "A")], new LabelMergeOptions());

        var scrubbed = Table.Scrub(transcript);

        var result = scrubbed.Transcript;
        Assert.Equal("Call [PHONE] now.", Assert.Single(result.Utterances).Text);
        Assert.Equal(["Call", "[PHONE]", "[PHONE]", "[PHONE]", "[PHONE]", "now."], result.Words.Select(w => w.Text));
        Assert.Equal(transcript.Words.Select(w => (w.Index, w.Start, w.End, w.Speaker)), result.Words.Select(w => (w.Index, w.Start, w.End, w.Speaker)));
        Assert.Equal(transcript.Utterances.Select(u => (u.Start, u.End, u.Speaker, u.Words)), result.Utterances.Select(u => (u.Start, u.End, u.Speaker, u.Words)));
        Assert.Equal(new Dictionary<PiiKind, int> { [PiiKind.Phone] = 1 }, scrubbed.Counts);
    }

    [Fact]
    public void Scrub_Transcript_ValueFromALaterUtterance_ReplacedInAnEarlierOne()
    {
        var words = new[]
        {
            W(0.0, 0.4, "Anna"), W(0.4, 0.8, "dialled"), W(0.8, 1.5, "4155550132."),
            W(5.0, 5.4, "I'm"), W(5.4, 5.8, "Anna"), W(5.8, 6.2, "Schmidt,"), W(6.2, 6.6, "my"), W(6.6, 7.0, "number"), W(7.0, 7.2, "is"),
            W(7.2, 7.5, "415"), W(7.5, 7.8, "555"), W(7.8, 8.2, "0132."),
        };
        var transcript = LabelMerger.Merge(words, [S(0, 2, "A"), S(4.5, 9, "B")], new LabelMergeOptions());

        var scrubbed = Table.Scrub(transcript);

        Assert.Equal(["[NAME] dialled [PHONE].", "I'm [NAME], my number is [PHONE]."], scrubbed.Transcript.Utterances.Select(u => u.Text));
        Assert.Equal("[NAME]", scrubbed.Transcript.Words[0].Text);
        Assert.Equal("[PHONE]", scrubbed.Transcript.Words[2].Text);
        Assert.Equal(["[NAME]", "[NAME]"], scrubbed.Transcript.Words.Skip(4).Take(2).Select(w => w.Text));
        Assert.Equal(new Dictionary<PiiKind, int> { [PiiKind.Phone] = 2, [PiiKind.Name] = 2 }, scrubbed.Counts);
    }

    [Fact]
    public void Scrub_Transcript_WordsOutsideUtterances_ScrubbedAsARunOfTheirOwn()
    {
        var transcript = new LabelMergeResult(
            [
                Word(0, "Hello", 0), Word(1, "Bob.", 0),
                Word(2, "+44", 1) with { Dropped = true }, Word(3, "20", 1) with { Dropped = true },
                Word(4, "7946", 1) with { Dropped = true }, Word(5, "0958", 1) with { Dropped = true },
            ],
            [new Utterance("A", 0, 2, "Hello Bob.", false, 0, [0, 1])],
            0);

        var scrubbed = Table.Scrub(transcript);

        Assert.Equal("Hello [NAME].", scrubbed.Transcript.Utterances[0].Text);
        Assert.Equal(["Hello", "[NAME]", "[PHONE]", "[PHONE]", "[PHONE]", "[PHONE]"], scrubbed.Transcript.Words.Select(w => w.Text));
        Assert.All(scrubbed.Transcript.Words.Skip(2), w => Assert.True(w.Dropped));
        Assert.Equal(new Dictionary<PiiKind, int> { [PiiKind.Name] = 1, [PiiKind.Phone] = 1 }, scrubbed.Counts);
    }

    [Fact]
    public void Scrub_Transcript_TextEditedByHand_WordsScrubbedOnTheirOwnText()
    {
        var transcript = new LabelMergeResult(
            [Word(0, "ask", 0), Word(1, "bob@example.com", 0)],
            [new Utterance("A", 0, 2, "Please ask bob@example.com", false, 0, [0, 1])],
            0);

        var scrubbed = Table.Scrub(transcript);

        Assert.Equal("Please ask [EMAIL]", scrubbed.Transcript.Utterances[0].Text);
        Assert.Equal(["ask", "[EMAIL]"], scrubbed.Transcript.Words.Select(w => w.Text));
        Assert.Equal(new Dictionary<PiiKind, int> { [PiiKind.Email] = 1 }, scrubbed.Counts);
    }

    [Fact]
    public void Scrub_Transcript_Empty_Empty()
    {
        var scrubbed = Table.Scrub(LabelMergeResult.Empty);

        Assert.Empty(scrubbed.Transcript.Words);
        Assert.Empty(scrubbed.Counts);
    }

    public static TheoryData<string> HostileInputs => new()
    {
        "a@", "a.", "1 ", "1-", "1.", "+(", "((1", "a@b.", "x://a:", "DE89 ", "4111 ", "Anna Schmidt ", "Bob", "@@@@", "0", "mixed",
        "4111 1111 1111 1111 1234 5678 9012 3456 ", "415-555-0132 4155550132 ", "a@b.co ",
    };

    /// <summary>
    /// A megabyte of each shape that could make a pattern backtrack or a scan look far ahead. Only completion is asserted:
    /// the call has no timeout or token, so a catastrophic pattern would hang the test run rather than pass.
    /// </summary>
    [Theory]
    [MemberData(nameof(HostileInputs))]
    public void Scrub_OneMegabyteOfHostileInput_Completes(string unit)
    {
        var text = Hostile(unit, 1 << 20);

        var result = Table.Scrub(text);

        Assert.NotNull(result.Text);
        Assert.Equal(result.Matches.Length, result.Counts.Values.Sum());
    }

    private static IEnumerable<object[]> Rows(IEnumerable<object[]> table) => table;

    private static LabelledWord Word(int index, string text, int channel) =>
        new(index, text, index, index + 0.5, channel == 0 ? "A" : "B", 1, 1, AssignMethod.Overlap, null, WordRepairs.None) { Channel = channel };

    private static string Hostile(string unit, int length)
    {
        var text = new StringBuilder(length + 64);
        if (unit == "mixed")
        {
            var random = new Random(1234);
            const string alphabet = "0123456789 .-+()@:/aZé_%#,\u00A0";
            while (text.Length < length)
            {
                text.Append(alphabet[random.Next(alphabet.Length)]);
            }
        }

        while (text.Length < length)
        {
            text.Append(unit);
        }

        return text.ToString(0, length);
    }
}
