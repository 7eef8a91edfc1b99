/** A small survey record for the console's browser tests and screenshots (abstracts written for them). */
const TOPICS: Record<string, string[]> = {
  pollination: [
    'Wild bees visit apple blossoms more often when hedgerows with early flowers border the orchard.',
    'Flower strips sown between rows double the number of solitary bee nests within two seasons.',
    'Pollinator visits fall sharply beyond two hundred metres from semi-natural habitat.',
  ],
  pests: [
    'Predatory mites released in spring keep spider mite numbers below damage thresholds all summer.',
    'Pheromone dispensers that confuse codling moth males cut fruit damage without insecticide sprays.',
    'Birds nesting in boxes mounted on orchard posts remove many caterpillars during the breeding season.',
  ],
  soil: [
    'Mulching with wood chips raises earthworm counts and keeps soil moisture higher in dry weeks.',
    'Cover crops of clover between tree rows add nitrogen and reduce the need for fertiliser.',
    'Reduced mowing lets ground flora flower and supports beetles that feed on weed seeds.',
  ],
};

export function surveyRecord() {
  return {
    title: 'Biodiversity in Fruit Orchards',
    papers: Object.entries(TOPICS).flatMap(([topic, texts]) =>
      texts.map((txt, i) => ({ title: `${topic[0].toUpperCase()}${topic.slice(1)} in orchards, field study ${i + 1}`, abstract: txt, txt, authors: [`Researcher ${topic} ${i + 1}`], year: 2023 + (i % 2), url: `https://example.org/${topic}/${i + 1}` })),
    ),
  };
}
