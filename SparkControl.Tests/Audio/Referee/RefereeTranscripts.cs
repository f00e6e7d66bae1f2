using System.Text.Json;
using SparkControl.Core.Audio.LabelMerge;
using SparkControl.Core.Audio.Referee;

namespace SparkControl.Tests.Audio.Referee;

/// <summary>One utterance of a test transcript: its words (space-separated), all with one confidence and method.</summary>
internal sealed record U(string? Speaker, string Text, double Confidence = 1, AssignMethod Method = AssignMethod.Overlap, int Channel = 0);

/// <summary>Builds referee inputs by hand, so each test shows exactly which utterance is disputed and why.</summary>
internal static class RefereeTranscripts
{
    /// <summary>Utterances in the given order, half a second a word, words numbered in that order.</summary>
    public static LabelMergeResult Build(params U[] utterances)
    {
        var words = new List<LabelledWord>();
        var built = new List<Utterance>();
        var t = 0.0;
        foreach (var u in utterances)
        {
            var indices = new List<int>();
            var start = t;
            foreach (var text in u.Text.Split(' '))
            {
                var reason = u.Speaker is null ? UnassignedReasons.NoOverlap : null;
                words.Add(new LabelledWord(words.Count, text, t, t + 0.4, u.Speaker, u.Confidence, u.Confidence, u.Method, reason, WordRepairs.None) { Channel = u.Channel });
                indices.Add(words.Count - 1);
                t = Math.Round(t + 0.5, 3);
            }

            built.Add(new Utterance(u.Speaker, start, t - 0.1, u.Text, false, u.Channel, [.. indices]));
        }

        return new LabelMergeResult(words, built, 0);
    }

    /// <summary>Bob asks, Alice's one low-confidence word sits between his two utterances, Bob goes on: u1 is a short flip.</summary>
    public static LabelMergeResult Flip(string marker) => Build(
        new U("Bob", "so what do you think about the plan"),
        new U("Alice", marker, 0.5),
        new U("Bob", "I think it is fine overall"));

    /// <summary>The user message of a request body built by <see cref="RefereePrompt"/>.</summary>
    public static string UserMessage(string requestJson)
    {
        using var document = JsonDocument.Parse(requestJson);
        return document.RootElement.GetProperty("messages")[1].GetProperty("content").GetString()!;
    }

    /// <summary>The answer a model gives: the given decisions as the referee asks for them.</summary>
    public static string Answer(params (string Id, string Speaker, double Confidence)[] decisions) =>
        JsonSerializer.Serialize(new { decisions = decisions.Select(d => new { id = d.Id, speaker = d.Speaker, confidence = d.Confidence, reason = "test" }) });
}

/// <summary>A chat model answering from a function of the request, recording every request it got.</summary>
internal sealed class FakeRefereeChat(Func<string, CancellationToken, Task<string>> answer) : IRefereeChat
{
    private readonly List<string> _requests = [];

    public FakeRefereeChat(string content)
        : this((_, _) => Task.FromResult(content))
    {
    }

    public IReadOnlyList<string> Requests
    {
        get
        {
            lock (_requests)
            {
                return [.. _requests];
            }
        }
    }

    public Task<string> CompleteAsync(string requestJson, CancellationToken cancellationToken)
    {
        lock (_requests)
        {
            _requests.Add(requestJson);
        }

        return answer(requestJson, cancellationToken);
    }
}
