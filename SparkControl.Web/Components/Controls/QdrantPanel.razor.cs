using Microsoft.AspNetCore.Components;
using SparkControl.Core.Sparks;
using SparkControl.Core.Vectors;

namespace SparkControl.Web.Components.Controls;

/// <summary>A Qdrant service's collections as Qdrant reports them, whether it asks for a key, and its snapshots.</summary>
public partial class QdrantPanel
{
    [Parameter, EditorRequired]
    public required ServiceDefinition Service { get; set; }

    [Inject]
    public required QdrantCollections Collections { get; init; }

    private QdrantOverview? _overview;
    private string? _error;

    protected override Task OnParametersSetAsync() => LoadAsync();

    private string CollectionHref(string name) => $"/services/{Uri.EscapeDataString(Service.Spark)}/{Uri.EscapeDataString(Service.Name)}/collections/{Uri.EscapeDataString(name)}";

    private async Task LoadAsync()
    {
        try
        {
            _overview = await Collections.OverviewAsync(Service, CancellationToken.None);
            _error = null;
        }
        catch (QdrantCallException ex)
        {
            _error = ex.Message;
        }
    }
}
