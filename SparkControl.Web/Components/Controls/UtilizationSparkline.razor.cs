using System.Collections.Immutable;
using System.Globalization;
using Microsoft.AspNetCore.Components;
using SparkControl.Core.Hosts;
using SparkControl.Web;

namespace SparkControl.Web.Components.Controls;

public partial class UtilizationSparkline
{
    private const double Width = 240;
    private const double Height = 48;
    private List<(double X, double Y)> _points = [];

    /// <summary>The samples to draw, oldest first.</summary>
    [Parameter, EditorRequired]
    public required ImmutableArray<GpuSample> Value { get; set; }

    private string Span => Value.Length < 2 ? "moment" : $"{(Value[^1].Timestamp - Value[0].Timestamp).TotalSeconds:0} seconds";

    protected override void OnParametersSet()
    {
        _points = [];
        if (Value.Length < 2)
        {
            return;
        }

        var start = Value[0].Timestamp;
        var span = Math.Max(1, (Value[^1].Timestamp - start).Ticks);
        foreach (var sample in Value)
        {
            if (sample.UtilizationPercent is { } percent)
            {
                _points.Add(((sample.Timestamp - start).Ticks * Width / span, Y(Math.Clamp(percent, 0, 100))));
            }
        }
    }

    private static double Y(double percent) => Height - 1 - (percent / 100 * (Height - 2));

    private string Line => string.Join(' ', _points.Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.X:0.##},{p.Y:0.##}")));

    private string Area => string.Create(CultureInfo.InvariantCulture, $"{_points[0].X:0.##},{Height} {Line} {_points[^1].X:0.##},{Height}");
}
