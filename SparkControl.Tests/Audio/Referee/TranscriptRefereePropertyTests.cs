using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using CsCheck;
using SparkControl.Core.Audio.LabelMerge;
using SparkControl.Core.Audio.Referee;

namespace SparkControl.Tests.Audio.Referee;

/// <summary>
/// audio.md §4's property: whatever the model answers (valid, invalid, failing), the referee only moves labels between
/// the transcript's own speakers; the words (texts, times, count, order) and the utterances' grouping stay byte-identical.
/// </summary>
public sealed partial class TranscriptRefereePropertyTests
{
    private static readonly string[] Speakers = ["A", "B", "C"];

    // Texts that look like the prompt's own markup, JSON or ids, to catch a referee that edits text.
    private static readonly Gen<string> Text = Gen.OneOf("a", "word", "u3", "[u1]", "<spk:A>", "{\"decisions\":[]}", "\"quoted\"", "…", "é");

    private static readonly Gen<U> Utterance = Gen.Select(
        Gen.Frequency((6, Gen.OneOf<string?>("A", "B", "C")), (1, Gen.Const((string?)null))),
        Text.Array[1, 4],
        Gen.OneOf(0.0, 0.3, 0.59, 0.6, 0.9, 1.0),
        Gen.Enum<AssignMethod>(),
        Gen.Int[0, 1],
        (speaker, words, confidence, method, channel) => new U(speaker, string.Join(' ', words), confidence, method, channel));

    private static readonly Gen<RefereeOptions> Options = Gen.Select(Gen.Int[0, 4], Gen.Int[1, 4], Gen.Int[0, 3],
        (calls, batch, context) => new RefereeOptions { MaxCalls = calls, BatchSize = batch, ContextUtterances = context });

    [Fact]
    public void RunAsync_RandomAnswers_WordsUntouchedAndEveryAppliedSpeakerACandidate()
    {
        Gen.Select(Utterance.Array[0, 14], Options, Gen.Int).Sample(
            (utterances, options, seed) =>
            {
                var transcript = RefereeTranscripts.Build(utterances);
                var candidates = DisputeSelector.Candidates(transcript);

                var (result, report) = TranscriptReferee.RunAsync(transcript, new RandomChat(seed), options, CancellationToken.None).GetAwaiter().GetResult();

                Assert.Equal(transcript.Words.Count, result.Words.Count);
                for (var i = 0; i < transcript.Words.Count; i++)
                {
                    Assert.Equal(transcript.Words[i], result.Words[i] with { Speaker = transcript.Words[i].Speaker });
                    Assert.True(result.Words[i].Speaker == transcript.Words[i].Speaker || candidates.Contains(result.Words[i].Speaker!));
                }

                Assert.Equal(transcript.Utterances.Select(u => u with { Speaker = null }), result.Utterances.Select(u => u with { Speaker = null }));
                Assert.All(report.Decisions.Where(d => d.Outcome == DecisionOutcome.Applied), d => Assert.Contains(d.To!, candidates));
                Assert.True(report.Calls.Count <= options.MaxCalls);
                for (var k = 0; k < result.Utterances.Count; k++)
                {
                    var speaker = result.Utterances[k].Speaker;
                    Assert.All(result.Utterances[k].Words, i => Assert.Equal(speaker, result.Words[i].Speaker));
                    Assert.True(speaker == transcript.Utterances[k].Speaker
                        || report.Decisions.Any(d => d.Utterance == k && d.Outcome == DecisionOutcome.Applied && d.To == speaker));
                }
            },
            iter: 500,
            threads: 1);
    }

    /// <summary>A model that answers at random: good and bad decisions, prose, broken JSON, or a failure.</summary>
    private sealed partial class RandomChat(int seed) : IRefereeChat
    {
        private readonly Random _random = new(seed);

        public Task<string> CompleteAsync(string requestJson, CancellationToken cancellationToken)
        {
            var asked = AskedId().Matches(RefereeTranscripts.UserMessage(requestJson)).Select(m => m.Groups[1].Value).ToList();
            return _random.Next(10) switch
            {
                0 => Task.FromException<string>(new HttpRequestException("boom", null, HttpStatusCode.InternalServerError)),
                1 => Task.FromException<string>(new TimeoutException()),
                2 => Task.FromException<string>(new RefereeChatException("no content")),
                3 => Task.FromResult("{\"decisions\":[{\"id\":"),
                4 => Task.FromResult("Here you go:\n```json\n" + Decisions(asked) + "\n```"),
                _ => Task.FromResult(Decisions(asked)),
            };
        }

        private string Decisions(List<string> asked)
        {
            var ids = asked.Concat(["u999", "u" + _random.Next(20), null!]).Where(_ => _random.Next(4) > 0).ToList();
            var decisions = ids.Select(id => new
            {
                id,
                speaker = _random.Next(6) switch { 0 => "Mallory", 1 => null, 2 => "", _ => Speakers[_random.Next(Speakers.Length)] },
                confidence = _random.Next(5) switch { 0 => (double?)null, 1 => -1, 2 => 2, _ => _random.NextDouble() },
                reason = "random",
            });
            return JsonSerializer.Serialize(new { decisions });
        }

        [GeneratedRegex(@"^\[(u\d+)\] ", RegexOptions.Multiline)]
        private static partial Regex AskedId();
    }
}
