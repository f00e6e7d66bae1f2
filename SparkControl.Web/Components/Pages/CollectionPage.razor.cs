using System.Text.Json;
using Microsoft.AspNetCore.Components;
using MudBlazor;
using SparkControl.Core.Validation;
using SparkControl.Core.Vectors;

namespace SparkControl.Web.Components.Pages;

/// <summary>One Qdrant collection: what Qdrant reports about it and a sample of its points (payload shown, vectors summarized).</summary>
public partial class CollectionPage
{
    private const int SampleSize = 20;

    [Parameter]
    public string Spark { get; set; } = string.Empty;

    [Parameter]
    public string Service { get; set; } = string.Empty;

    [Parameter]
    public string Name { get; set; } = string.Empty;

    [Inject]
    public required QdrantConnections Connections { get; init; }

    [Inject]
    public required QdrantCollections Collections { get; init; }

    private List<BreadcrumbItem> _crumbs = [];
    private CollectionSummary? _info;
    private IReadOnlyList<PointSample> _sample = [];
    private string? _error;

    protected override async Task OnParametersSetAsync()
    {
        _crumbs =
        [
            new("Services", "/services"),
            new($"{Service} on {Spark}", $"/services/{Uri.EscapeDataString(Spark)}/{Uri.EscapeDataString(Service)}"),
            new(Name, null, disabled: true),
        ];
        try
        {
            var service = Connections.Resolve($"{Spark}/{Service}");
            _info = await Collections.InfoAsync(service, Name, CancellationToken.None);
            _sample = await Collections.SampleAsync(service, Name, SampleSize, CancellationToken.None);
            _error = null;
        }
        catch (Exception ex) when (ex is QdrantCallException or KeyNotFoundException or ValidationFailedException)
        {
            _error = ex.Message;
        }
    }

    /// <summary>A payload value as text: long texts cut, lists and objects as JSON.</summary>
    private static string Show(object? value) => value switch
    {
        null => "null",
        string text => text.Length > 300 ? text[..300] + "…" : text,
        IEnumerable<object?> or IReadOnlyDictionary<string, object?> => JsonSerializer.Serialize(value) is var json && json.Length > 300 ? json[..300] + "…" : json,
        _ => Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? string.Empty,
    };
}
