/**
 * WorkerImage: the worker image, built from the project's Dockerfile and pushed to an Artifact
 * Registry repository the stack creates (or to another registry), or an existing image used as
 * is. `imageRef` is `repository@sha256:digest`, so the workers roll out exactly when the image
 * content changes.
 */
import path from 'node:path';
import * as docker from '@pulumi/docker';
import * as gcp from '@pulumi/gcp';
import * as pulumi from '@pulumi/pulumi';
import type { ImageSettings } from '../plan/types';

export interface WorkerImageArgs {
  /** GCP project id (Artifact Registry). */
  readonly project: string;
  /** GCP region: the Artifact Registry repository lives next to the cluster. */
  readonly region: string;
  /** The `image` stack config: build context, Dockerfile, platform, registry, or an existing image. */
  readonly image: ImageSettings;
  /** Service account (email) that pulls the image: gets Artifact Registry reader on this repository only. */
  readonly reader?: pulumi.Input<string>;
  /** Tag pushed along with the digest (the stack name), for people browsing the registry. */
  readonly tag: string;
}

export class WorkerImage extends pulumi.ComponentResource {
  /** `REPOSITORY@sha256:DIGEST` (or the existing image reference as configured). */
  public readonly imageRef: pulumi.Output<string>;
  /** The Artifact Registry repository, when the stack creates one. */
  public readonly repository?: gcp.artifactregistry.Repository;
  /** The reader's grant on the repository (created or existing). */
  public readonly readerGrant?: gcp.artifactregistry.RepositoryIamMember;
  /** The build, unless an existing image is used. */
  public readonly image?: docker.Image;

  constructor(name: string, args: WorkerImageArgs, opts?: pulumi.ComponentResourceOptions) {
    super('gke-batch:infra:WorkerImage', name, {}, opts);
    const { image } = args;

    if (image.existing !== undefined) {
      this.imageRef = pulumi.output(image.existing);
      this.registerOutputs({ imageRef: this.imageRef });
      return;
    }

    let imageName: pulumi.Output<string>;
    let registry: docker.types.input.Registry | undefined;
    if (image.registry === 'artifact-registry') {
      // Named after the cluster by default, so a second stack in the project gets its own; with
      // createRepository false an existing repository of that id is used as is.
      this.repository = image.createRepository
        ? new gcp.artifactregistry.Repository(
            `${name}-repository`,
            {
              project: args.project,
              location: args.region,
              repositoryId: image.repository,
              format: 'DOCKER',
              description: 'gke-batch worker images',
            },
            // Named by config: a replacement must not clash with the old repository's id.
            { parent: this, deleteBeforeReplace: true },
          )
        : undefined;
      const repositoryId = this.repository ? this.repository.repositoryId : pulumi.output(image.repository);
      if (args.reader) {
        this.readerGrant = new gcp.artifactregistry.RepositoryIamMember(
          `${name}-reader`,
          {
            project: args.project,
            location: args.region,
            repository: repositoryId,
            role: 'roles/artifactregistry.reader',
            member: pulumi.interpolate`serviceAccount:${args.reader}`,
          },
          { parent: this },
        );
      }
      const server = `${args.region}-docker.pkg.dev`;
      imageName = pulumi.interpolate`${server}/${args.project}/${repositoryId}/${image.name}:${args.tag}`;
      // A short-lived token of whoever runs `pulumi up`: no key file, nothing stored.
      const token = gcp.organizations.getClientConfigOutput({ parent: this }).accessToken;
      registry = { server, username: 'oauth2accesstoken', password: pulumi.secret(token) };
    } else {
      // Docker Hub or another registry: docker's own login (`docker login`) is used.
      imageName = pulumi.output(`${image.registry}:${args.tag}`);
    }

    this.image = new docker.Image(
      `${name}-image`,
      {
        imageName,
        build: {
          context: image.context,
          // The provider reads `dockerfile` relative to the working directory (the project), not the context.
          dockerfile: path.join(image.context, image.dockerfile),
          platform: image.platform,
        },
        registry,
      },
      { parent: this },
    );
    this.imageRef = this.image.repoDigest;
    this.registerOutputs({ imageRef: this.imageRef });
  }
}
