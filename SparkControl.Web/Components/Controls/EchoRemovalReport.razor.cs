using System.Globalization;
using Microsoft.AspNetCore.Components;
using SparkControl.Core.Audio.Echo;
using SparkControl.Core.Audio.LabelMerge;

namespace SparkControl.Web.Components.Controls;

/// <summary>What the transcript echo pass of a two-channel call removed; a null <see cref="Report"/> means it was off.</summary>
public partial class EchoRemovalReport
{
    [Parameter]
    public CallEchoReport? Report { get; set; }

    private string Summary => Report switch
    {
        null => "Off: channel 0 is kept as recognised.",
        { Delay: null } r => string.Create(CultureInfo.InvariantCulture,
            $"No echo of channel 1 found on channel 0: {r.MatchedWords} word{(r.MatchedWords == 1 ? string.Empty : "s")} matched at one delay, {new TranscriptEchoOptions().MinVotes} needed."),
        { Delay: { } delay } r => string.Create(CultureInfo.InvariantCulture,
            $"Echo delay {Ms(delay)}, voted by {r.MatchedWords} matching words; {r.Removed.Count} channel-0 word{(r.Removed.Count == 1 ? string.Empty : "s")} removed."),
    };

    private static string Span(double start, double end) => string.Create(CultureInfo.InvariantCulture, $"{start:0.00}–{end:0.00} s");

    private static string Seconds(double seconds) => seconds.ToString("0.00' s'", CultureInfo.InvariantCulture);

    private static string Ms(double seconds) => (seconds * 1000).ToString("0' ms'", CultureInfo.InvariantCulture);
}
