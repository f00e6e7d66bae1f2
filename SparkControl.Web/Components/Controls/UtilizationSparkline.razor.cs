using System.Collections.Immutable;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.AspNetCore.Components;
using SparkControl.Core.Hosts;
using SparkControl.Web;

namespace SparkControl.Web.Components.Controls;

public partial class UtilizationSparkline
{
    private const double Width = 240;
    private const double Height = 48;

    /// <summary>
    /// The drawing of each samples array, shared by every open page: all of them show the same Spark's same samples,
    /// redrawn once a second, so the points are formatted once per array, not once per page. Weak keys: a drawing goes
    /// with its samples.
    /// </summary>
    private static readonly ConditionalWeakTable<GpuSample[], Drawing> Drawings = new();

    private Drawing _drawing = Drawing.None;

    /// <summary>The samples to draw, oldest first.</summary>
    [Parameter, EditorRequired]
    public required ImmutableArray<GpuSample> Value { get; set; }

    private string Span => Value.Length < 2 ? "moment" : $"{(Value[^1].Timestamp - Value[0].Timestamp).TotalSeconds:0} seconds";

    protected override void OnParametersSet() =>
        _drawing = ImmutableCollectionsMarshal.AsArray(Value) is { Length: > 1 } samples ? Drawings.GetValue(samples, Draw) : Drawing.None;

    /// <summary>The polyline's and the filled area's points; null with fewer than two points.</summary>
    private sealed record Drawing(int Points, string? Line, string? Area)
    {
        public static readonly Drawing None = new(0, null, null);
    }

    private static Drawing Draw(GpuSample[] samples)
    {
        var points = new List<(double X, double Y)>(samples.Length);
        var start = samples[0].Timestamp;
        var span = Math.Max(1, (samples[^1].Timestamp - start).Ticks);
        foreach (var sample in samples)
        {
            if (sample.UtilizationPercent is { } percent)
            {
                points.Add(((sample.Timestamp - start).Ticks * Width / span, Y(Math.Clamp(percent, 0, 100))));
            }
        }

        if (points.Count < 2)
        {
            return new Drawing(points.Count, null, null);
        }

        var line = string.Join(' ', points.Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.X:0.##},{p.Y:0.##}")));
        return new Drawing(points.Count, line, string.Create(CultureInfo.InvariantCulture, $"{points[0].X:0.##},{Height} {line} {points[^1].X:0.##},{Height}"));
    }

    private static double Y(double percent) => Height - 1 - (percent / 100 * (Height - 2));
}
